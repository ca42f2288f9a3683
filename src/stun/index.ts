// The STUN/TURN wire codec: pure functions over Buffer, no I/O.
export type { TransportAddress } from './address.js';
export * from './attributes/address.js';
export * from './attributes/error-code.js';
export * from './attributes/text.js';
export * from './attributes/turn.js';
export * from './channel-data.js';
export * from './constants.js';
export * from './data-indication.js';
export * from './demux.js';
export * from './fingerprint.js';
export * from './framing.js';
export * from './integrity.js';
export * from './ip-text.js';
export * from './message.js';
export * from './message-type.js';
export * from './transaction-id.js';
