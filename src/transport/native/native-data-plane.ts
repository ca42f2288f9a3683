// Feature detection for the native data plane (issue 9): the addon if it built, else null and a log line.
import type dgram from 'node:dgram';
import type { Logger } from '../../log/logger.js';
import { useNativeHmac } from '../../stun/hmac.js';
import { listeningFd } from './listening-fd.js';
import {
  type ControlPacketHandler,
  hasStreamSupport,
  type NativeAddon,
  type NativeStreamLimits,
  requireNativeAddon,
  type StreamEventHandler,
} from './native-addon.js';
import { NativeRelayPlane, type NativeStreamTls } from './native-relay-plane.js';
import { classifyPacket, type PacketClass } from './packet-class.js';

/**
 * Memory-pressure collections before the final one: one more than the collections after which V8
 * drops bytecode that has not run (--bytecode-old-age, 5 in Node 20's V8).
 */
export const IDLE_AGING_COLLECTIONS = 6;

/** The loaded addon: the packet classifier and a factory of relay planes. */
export class NativeDataPlane {
  readonly #addon: NativeAddon;

  constructor(addon: NativeAddon) {
    this.#addon = addon;
  }

  /** Classifies one datagram as the native path does. */
  classify(data: Uint8Array): PacketClass {
    return classifyPacket(this.#addon, data);
  }

  /** A relay plane whose client-bound datagrams leave from `listener`'s port. */
  createRelayPlane(listener: dgram.Socket): NativeRelayPlane {
    const fd = listeningFd(listener);
    if (fd === null)
      throw new Error('NATIVE_NO_FD: the listening socket has no file descriptor (not bound?)');
    return new NativeRelayPlane(this.#addon, fd);
  }

  /** True when the addon can own TCP client connections (listenStream). */
  get supportsStreams(): boolean {
    return hasStreamSupport(this.#addon);
  }

  /** A relay plane with its own TCP listening socket on `ip`:`port` (its clients' relays live on it). */
  listenStream(
    ip: string,
    port: number,
    limits: NativeStreamLimits,
    onEvent: StreamEventHandler,
    tls?: NativeStreamTls,
  ): NativeRelayPlane {
    return NativeRelayPlane.listenStream(
      this.#addon,
      ip,
      port,
      limits,
      onEvent,
      tls === undefined ? {} : { tls },
    );
  }

  /** Returns the C heap's free pages to the kernel (NativeAddon.trimMemory); true when some were. */
  trimMemory(): boolean {
    return this.#addon.trimMemory();
  }

  /**
   * The V8 heap collected as V8's memory reducer (off under npm start) would collect an idle one:
   * IDLE_AGING_COLLECTIONS memory-pressure collections (NativeAddon.ageIdleHeap), after which the
   * bytecode of functions that ran only at start-up is dropped, then LowMemoryNotification
   * (collectIdleGarbage), which compacts the old space and shrinks the new space. Each in its own
   * turn of the event loop, so the JS thread is never blocked for more than one collection.
   */
  async collectIdleGarbage(): Promise<void> {
    for (let i = 0; i < IDLE_AGING_COLLECTIONS; i++) {
      this.#addon.ageIdleHeap();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.#addon.collectIdleGarbage();
  }

  /** A relay plane with its own listening socket on `ip`:`port`, relaying both directions. */
  listen(ip: string, port: number, onControlPacket: ControlPacketHandler): NativeRelayPlane {
    return NativeRelayPlane.listen(this.#addon, ip, port, onControlPacket);
  }
}

/** Loads the addon, or logs once why not and returns null so the JS data path is used. */
export function loadNativeDataPlane(logger?: Logger): NativeDataPlane | null {
  try {
    const addon = requireNativeAddon();
    // The control path's MACs as well (src/stun/hmac.ts): the same bytes, in a sixth of the time.
    useNativeHmac(addon.hmacInto);
    return new NativeDataPlane(addon);
  } catch (error) {
    logger?.warn('native data plane unavailable; using the JS data path', {
      reason: error instanceof Error ? error.message : String(error),
    });
    return null;
  }
}
