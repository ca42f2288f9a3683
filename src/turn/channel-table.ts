import type { TransportAddress } from '../stun/index.js';
import { channelHeader } from './channel-number.js';
import type { Permission } from './permission-table.js';

/** A channel binding: a channel number bound to one peer transport address, RFC 8656 section 12. */
export class ChannelBinding {
  /**
   * The last ChannelData header made for this channel and the length it carries. A header is
   * never written again once made (a send dgram could not finish at once keeps a reference to
   * it), so a flow of equal-sized packets (audio frames) reuses one and allocates nothing.
   */
  #header: Buffer | null = null;
  #headerLength = -1;

  constructor(
    readonly number: number,
    readonly peer: TransportAddress,
    /** The permission record of the peer's IP; the binding is listed in its `channels`. */
    readonly permission: Permission,
    /** Milliseconds on the server clock. */
    public expiresAt: number,
  ) {}

  /** The 4-byte ChannelData header (RFC 8656 section 12.4) for a payload of `length` bytes. */
  headerFor(length: number): Buffer {
    if (length !== this.#headerLength || this.#header === null) {
      this.#header = channelHeader(this.number, length);
      this.#headerLength = length;
    }
    return this.#header;
  }
}

const NO_CHANNELS: ReadonlyMap<number, ChannelBinding> = new Map();

/**
 * The channel bindings of one allocation, by number (the peer side is indexed by Permission). The
 * map is made at the first binding: many allocations never bind a channel.
 */
export class ChannelTable {
  #byNumber: Map<number, ChannelBinding> | null = null;

  /** The live binding of channel `number` at `now`, if any. */
  live(number: number, now: number): ChannelBinding | undefined {
    const binding = this.#byNumber?.get(number);
    return binding !== undefined && binding.expiresAt > now ? binding : undefined;
  }

  /** The live binding of peer `address:port` at `now`, if any. */
  liveForPeer(permission: Permission | undefined, port: number, now: number): ChannelBinding | undefined {
    const binding = permission?.channels?.get(port);
    return binding !== undefined && binding.expiresAt > now ? binding : undefined;
  }

  /** Every binding, expired ones not yet swept included (for pushing a relay's table, RelayTable). */
  values(): IterableIterator<ChannelBinding> {
    return (this.#byNumber ?? NO_CHANNELS).values();
  }

  /** Bindings in the table, expired ones not yet swept included. */
  get size(): number {
    return this.#byNumber?.size ?? 0;
  }

  /**
   * Creates or refreshes the binding of `number` to `peer` until `expiresAt`. The caller has
   * checked RFC 8656 section 12.2 (neither side bound to something else).
   */
  bind(number: number, peer: TransportAddress, permission: Permission, expiresAt: number): ChannelBinding {
    this.#byNumber ??= new Map();
    const existing = this.#byNumber.get(number);
    if (existing !== undefined && existing.permission === permission && existing.peer.port === peer.port) {
      existing.expiresAt = expiresAt;
      return existing;
    }
    if (existing !== undefined) this.#unlink(existing);
    const binding = new ChannelBinding(number, { ...peer }, permission, expiresAt);
    this.#byNumber.set(number, binding);
    if (permission.channels === null) permission.channels = new Map();
    permission.channels.set(peer.port, binding);
    return binding;
  }

  /** Removes expired bindings (a channel number is free again once its binding expires, section 12). */
  sweep(now: number): void {
    if (this.#byNumber === null) return;
    for (const binding of this.#byNumber.values()) {
      if (binding.expiresAt <= now) this.#unlink(binding);
    }
  }

  #unlink(binding: ChannelBinding): void {
    this.#byNumber?.delete(binding.number);
    const byPort = binding.permission.channels;
    if (byPort !== null && byPort.get(binding.peer.port) === binding) byPort.delete(binding.peer.port);
  }
}
