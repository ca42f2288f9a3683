/** Node socket adapters that drive the TURN core: UDP, TCP and TLS listeners, relay sockets. */
export { familyOf } from './address-family.js';
export { clientAddressOf } from './client-address.js';
export { ClientTuples, MAX_CACHED_TUPLES } from './client-tuples.js';
export {
  IGNORE_ERRORS,
  TransportError,
  type TransportErrorCode,
  type TransportErrorReporter,
} from './errors.js';
export { literalLookup } from './literal-lookup.js';
export {
  kernelBufferCaps,
  type ProcReader,
  type ProcUdpTexts,
  parseProcUdp,
  RelayDropCounter,
  type RelayPortSource,
  readProcUdpTexts,
  type UdpSocketRow,
} from './relay-drops.js';
export { type RelayAddressConfig, type RelayOwner, RelayPool, type RelayPoolOptions } from './relay-pool.js';
export type { StreamClientHandler, StreamCounters } from './stream-connection.js';
export { DEFAULT_STREAM_LIMITS, resolveStreamLimits, type StreamLimits } from './stream-limits.js';
export { isRelayedData, StreamLink } from './stream-link.js';
export { StreamListener, type StreamListenerStats, type StreamListening } from './stream-listener.js';
export {
  TLS_MIN_VERSION,
  type TlsCertificateOptions,
  TlsCertificates,
  type TlsFiles,
} from './tls-certificates.js';
export { TransportSink } from './transport-sink.js';
export { type TlsListenOptions, TurnHost, type TurnHostOptions } from './turn-host.js';
export { startTurnUdp, type TurnUdpOptions, type TurnUdpServer } from './turn-udp.js';
export { type ClientLink, type ClientPacketHandler, UdpListener } from './udp-listener.js';
