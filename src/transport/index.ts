/** Node socket adapters that drive the TURN core (UDP now; TCP/TLS slot in beside UdpListener). */
export { familyOf } from './address-family.js';
export { ClientTuples, MAX_CACHED_TUPLES } from './client-tuples.js';
export {
  IGNORE_ERRORS,
  TransportError,
  type TransportErrorCode,
  type TransportErrorReporter,
} from './errors.js';
export { literalLookup } from './literal-lookup.js';
export { type RelayAddressConfig, type RelayOwner, RelayPool, type RelayPoolOptions } from './relay-pool.js';
export { TransportSink } from './transport-sink.js';
export { TurnHost, type TurnHostOptions } from './turn-host.js';
export { startTurnUdp, type TurnUdpOptions, type TurnUdpServer } from './turn-udp.js';
export { type ClientLink, type ClientPacketHandler, UdpListener } from './udp-listener.js';
