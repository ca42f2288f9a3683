/**
 * Native data plane (issue 9, the default where the addon loads): addon loading, packet classifier,
 * relay planes, mode choice.
 */
export {
  chooseDataPlane,
  type DataPlaneChoice,
  type DataPlaneMode,
  parseDataPlaneMode,
  type StreamPlaneMode,
  streamPlaneFromEnv,
} from './data-plane-mode.js';
export { listeningFd } from './listening-fd.js';
export {
  CHANGED_TRAFFIC_STRIDE,
  type ControlPacketHandler,
  hasStreamSupport,
  NATIVE_ERROR,
  type NativeAddon,
  type NativeChannelBinding,
  type NativePlaneCounters,
  type NativeRelayTraffic,
  type NativeStreamLimits,
  nativeAddonCandidates,
  nativeAddonPath,
  nativeErrorCode,
  requireNativeAddon,
  STREAM_EVENT,
  type StreamEventHandler,
} from './native-addon.js';
export { loadNativeDataPlane, NativeDataPlane } from './native-data-plane.js';
export { type NativeRelay, NativeRelayPlane } from './native-relay-plane.js';
export {
  NATIVE_RELAY_ID_BASE,
  type NativeClientListener,
  type NativeRelayOwner,
  NativeSink,
  type NativeSinkOptions,
} from './native-sink.js';
export { NativeStreamListener } from './native-stream-listener.js';
export { NativeUdpListener } from './native-udp-listener.js';
export { classifyPacket, type InvalidReason, type PacketClass, type PacketKind } from './packet-class.js';
