// Locates and loads the compiled addon (native/build/Release/icegate_native.node) and checks its shape.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeHmacInto } from '../../stun/hmac.js';

/** Opaque handle of one native relay plane; only the addon reads it. */
export type PlaneHandle = { readonly __brand: 'NativePlaneHandle' };

/** The classifier's raw answer: numeric codes of native/src/packet_class.h. */
export interface RawPacketClass {
  kind: number;
  reason: number;
  channel: number;
  length: number;
}

/** Counters of one plane, read without stopping the data path. */
export interface NativePlaneCounters {
  received: number;
  sentChannelData: number;
  sentDataIndication: number;
  droppedNoPermission: number;
  droppedNoClient: number;
  droppedTooLarge: number;
  sendErrors: number;
  receiveBatches: number;
  sendBatches: number;
  clientReceived: number;
  sentToPeer: number;
  handedToControl: number;
  droppedUnboundChannel: number;
  droppedMalformed: number;
  /** Send indications from known clients relayed natively (RFC 8656 §11.4); also in sentToPeer. */
  sendIndications: number;
  /** Send indications to a peer without a permission, dropped silently (RFC 8656 §11.4). */
  droppedSendNoPermission: number;
  /** Control datagrams dropped because the queue to JS was full (a STUN flood outrunning JS). */
  droppedControlOverflow: number;
  /** sendmsg calls that carried several datagrams with UDP GSO (UDP_SEGMENT). */
  gsoSends: number;
  relays: number;
  /** Stream (TCP) listener counters; absent from an addon without stream support. */
  streamConnections?: number;
  streamAccepted?: number;
  streamClosed?: number;
  streamRefusedPerIp?: number;
  streamRefusedMax?: number;
  /** Frames cut from client streams (relayed natively or handed to TypeScript). */
  streamFrames?: number;
  streamDroppedToClient?: number;
  streamClosedIdle?: number;
  streamClosedSlow?: number;
  streamClosedFraming?: number;
  /** send() calls towards stream clients (one per connection per epoll round at most, unless the kernel buffer fills). */
  streamWrites?: number;
  /** TLS handshakes that failed or timed out. */
  streamTlsFailures?: number;
}

/** Limits of a native stream listener (src/transport/stream-limits.ts, without the TLS handshake). */
export interface NativeStreamLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
  idleTimeoutMs: number;
  maxQueuedBytes: number;
  maxQueuedBytesHard: number;
}

/** What a native stream listener reports: a frame (STUN, or ChannelData without its padding) or the end of a connection. */
export const STREAM_EVENT = { frame: 1, closed: 2 } as const;

/** Receives stream events on the JS thread, in arrival order; `data` is null for `closed`. */
export type StreamEventHandler = (
  event: number,
  connId: number,
  data: Buffer | null,
  ip: string,
  port: number,
) => void;

/** The stream (TCP client) functions of an addon that has them. */
export interface NativeStreamAddon {
  openStreamListener(
    plane: PlaneHandle,
    ip: string,
    port: number,
    limits: NativeStreamLimits,
    onEvent: StreamEventHandler,
  ): { port: number };
  streamSend(plane: PlaneHandle, connId: number, data: Uint8Array): void;
  streamClose(plane: PlaneHandle, connId: number): void;
  setStreamClient(plane: PlaneHandle, relayId: number, connId: number): void;
  setStreamTls(plane: PlaneHandle, certPem: string, keyPem: string, handshakeTimeoutMs: number): void;
}

/** True when the loaded addon can own TCP client connections (built from this tree). */
export function hasStreamSupport(addon: NativeAddon): addon is NativeAddon & NativeStreamAddon {
  const record = addon as unknown as Record<string, unknown>;
  return ['openStreamListener', 'streamSend', 'streamClose', 'setStreamClient', 'setStreamTls'].every(
    (name) => typeof record[name] === 'function',
  );
}

/** A channel binding pushed to the native side (RFC 8656 §12). */
export interface NativeChannelBinding {
  ip: string;
  port: number;
  channel: number;
}

/** The Send indication parser's raw answer (native/src/packet_class.h SendParse). */
export interface RawSendIndication {
  /** 0: relayable natively; 1: not a Send indication; 2: a Send indication left to TypeScript. */
  result: number;
  ip?: string;
  port?: number;
  /** Where the DATA value starts in the datagram, and its length. */
  offset?: number;
  length?: number;
}

/** Options of a plane, fixed at creation. */
export interface NativePlaneOptions {
  /** Data threads, 1-64; default min(CPU count, 4). */
  threads?: number;
  /** Use UDP GSO (UDP_SEGMENT) when the kernel has it; default true. */
  gso?: boolean;
}

/** How a plane is laid out: its data threads and what each has carried. */
export interface NativePlaneInfo {
  threads: number;
  /** Threads clients are steered to (setActiveThreads); the others sleep. */
  active: number;
  /** True when a client's datagrams always reach the same thread (reuseport BPF, or one thread). */
  steering: boolean;
  gso: boolean;
  workers: {
    received: number;
    clientReceived: number;
    sentToPeer: number;
    sentToClient: number;
    handedToControl: number;
    /** CPU seconds the thread has used (its thread CPU clock). */
    cpuSeconds: number;
  }[];
}

/** The functions the addon exports (native/src/addon.cc). */
export interface NativeAddon {
  classify(data: Uint8Array): RawPacketClass;
  parseSendIndication(data: Uint8Array): RawSendIndication;
  createPlane(listenFd: number, options?: NativePlaneOptions): PlaneHandle;
  planeInfo(plane: PlaneHandle): NativePlaneInfo;
  setActiveThreads(plane: PlaneHandle, active: number): { moved: number };
  closePlane(plane: PlaneHandle): void;
  /** The relay's id and bound port as one number: id * 65536 + port (see NativeRelayPlane.openRelay). */
  openRelay(plane: PlaneHandle, ip: string, port: number, bufferBytes: number): number;
  setClient(plane: PlaneHandle, relayId: number, ip: string, port: number): void;
  setPermissions(plane: PlaneHandle, relayId: number, ips: readonly string[]): void;
  setChannels(plane: PlaneHandle, relayId: number, bindings: readonly NativeChannelBinding[]): void;
  closeRelay(plane: PlaneHandle, relayId: number): boolean;
  counters(plane: PlaneHandle): NativePlaneCounters;
  openListener(
    plane: PlaneHandle,
    ip: string,
    port: number,
    onPacket: ControlPacketHandler,
  ): { port: number };
  sendToClient(plane: PlaneHandle, ip: string, port: number, data: Uint8Array): void;
  sendFromRelay(plane: PlaneHandle, relayId: number, ip: string, port: number, data: Uint8Array): void;
  relayTraffic(plane: PlaneHandle, relayId: number): NativeRelayTraffic;
  /**
   * For every relay of the plane whose data threads relayed something since the previous call: 5
   * numbers, its id then the data threads' cumulative packetsToClient, bytesToClient,
   * packetsToPeer, bytesToPeer (unlike relayTraffic, without sendFromRelay's sends).
   */
  changedRelayTraffic(plane: PlaneHandle): Float64Array;
  /**
   * Gives the C heap's free pages back to the kernel (glibc malloc_trim(0), every arena); true
   * when pages were returned, false when none were free or the C library has no such call.
   */
  trimMemory(): boolean;
  /**
   * One full collection of the V8 heap for critical memory pressure; each ages the bytecode of
   * functions that did not run since the previous one, and V8 drops bytecode after 5. Blocks the
   * JS thread for some tens of ms.
   */
  ageIdleHeap(): void;
  /**
   * V8's LowMemoryNotification: full collections that compact the old space and shrink the new
   * space to its minimum. Blocks the JS thread for some tens of ms.
   */
  collectIdleGarbage(): void;
  /**
   * HMAC-SHA1 (algorithm 1) or HMAC-SHA256 (256) of the parts (one to three Buffers or UTF-8
   * strings, hashed in order), its first outLength bytes written at out[outOffset]
   * (native/src/hmac.cc; src/stun/hmac.ts uses it once the plane is loaded).
   */
  hmacInto: NativeHmacInto;
}

/** Numbers per relay in changedRelayTraffic's answer. */
export const CHANGED_TRAFFIC_STRIDE = 5;

/**
 * Error codes of the addon's errors (`error.code`). A bind refused because of the address gets its
 * own code so callers try another port on it without reading the message.
 */
export const NATIVE_ERROR = {
  badArgument: 'NATIVE_BAD_ARGUMENT',
  closed: 'NATIVE_CLOSED',
  relay: 'NATIVE_RELAY',
  /** EADDRINUSE: the port (relay or listening) is taken. */
  addressInUse: 'NATIVE_ADDRESS_IN_USE',
  /** EACCES/EPERM: e.g. a privileged port. */
  accessDenied: 'NATIVE_ACCESS_DENIED',
} as const;

/** The addon's code of `error`, or undefined when it has none. */
export function nativeErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Payload packets and bytes one relay has carried natively, for usage and quotas (cumulative). */
export interface NativeRelayTraffic {
  packetsToClient: number;
  bytesToClient: number;
  packetsToPeer: number;
  bytesToPeer: number;
}

/** Receives what the native listener does not relay itself: STUN, and clients it has no table for. */
export type ControlPacketHandler = (data: Buffer, ip: string, port: number) => void;

const ADDON_FILE = join('native', 'build', 'Release', 'icegate_native.node');
const EXPORTS = [
  'classify',
  'parseSendIndication',
  'createPlane',
  'closePlane',
  'openRelay',
  'setClient',
  'setPermissions',
  'setChannels',
  'closeRelay',
  'counters',
  'openListener',
  'sendToClient',
  'sendFromRelay',
  'relayTraffic',
  'changedRelayTraffic',
  'planeInfo',
  'setActiveThreads',
  'trimMemory',
  'ageIdleHeap',
  'collectIdleGarbage',
  'hmacInto',
] as const;

/**
 * Where the addon would be: ICEGATE_NATIVE_ADDON (e.g. an AddressSanitizer build) when set,
 * else from src/transport/native (vitest) or dist/src/transport/native.
 */
export function nativeAddonCandidates(): string[] {
  const override = process.env.ICEGATE_NATIVE_ADDON;
  if (override !== undefined && override !== '') return [override];
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '..', '..', '..', ADDON_FILE), join(here, '..', '..', '..', '..', ADDON_FILE)];
}

/** The path of the built addon, or null when `npm ci` could not build it. */
export function nativeAddonPath(): string | null {
  return nativeAddonCandidates().find((candidate) => existsSync(candidate)) ?? null;
}

function isNativeAddon(value: unknown): value is NativeAddon {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return EXPORTS.every((name) => typeof record[name] === 'function');
}

/** Loads the addon; throws Error with the reason (missing file, ABI mismatch, wrong exports). */
export function requireNativeAddon(): NativeAddon {
  const path = nativeAddonPath();
  if (path === null) throw new Error(`native addon not built: none of ${nativeAddonCandidates().join(', ')}`);
  const loaded: unknown = createRequire(import.meta.url)(path);
  if (!isNativeAddon(loaded)) throw new Error(`native addon at ${path} lacks the expected exports`);
  return loaded;
}
