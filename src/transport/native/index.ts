/**
 * Native data plane (issue 9, the default where the addon loads): addon loading, packet classifier,
 * relay planes, mode choice.
 */
export {
  chooseDataPlane,
  type DataPlaneChoice,
  type DataPlaneMode,
  parseDataPlaneMode,
} from './data-plane-mode.js';
export { listeningFd } from './listening-fd.js';
export {
  CHANGED_TRAFFIC_STRIDE,
  type ControlPacketHandler,
  NATIVE_ERROR,
  type NativeAddon,
  type NativeChannelBinding,
  type NativePlaneCounters,
  type NativeRelayTraffic,
  nativeAddonCandidates,
  nativeAddonPath,
  nativeErrorCode,
  requireNativeAddon,
} from './native-addon.js';
export { loadNativeDataPlane, NativeDataPlane } from './native-data-plane.js';
export { type NativeRelay, NativeRelayPlane } from './native-relay-plane.js';
export {
  NATIVE_RELAY_ID_BASE,
  type NativeRelayOwner,
  NativeSink,
  type NativeSinkOptions,
} from './native-sink.js';
export { NativeUdpListener } from './native-udp-listener.js';
export { classifyPacket, type InvalidReason, type PacketClass, type PacketKind } from './packet-class.js';
