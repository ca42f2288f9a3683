import type { ChannelBinding } from './channel-table.js';

/**
 * A permission for one peer IP address, RFC 8656 section 9: ports are not compared. It also
 * indexes the channels bound to ports of that IP, so a datagram from a peer costs one lookup for
 * the permission and one for its channel (section 11.3).
 */
export class Permission {
  /** Channels bound to ports of this IP, by port; null until the first one. */
  channels: Map<number, ChannelBinding> | null = null;

  constructor(
    readonly ip: string,
    /** Milliseconds on the server clock. */
    public expiresAt: number,
  ) {}
}

const NO_PERMISSIONS: ReadonlyMap<string, Permission> = new Map();

/**
 * The permissions of one allocation, keyed by peer IP text. The map is made at the first
 * permission: every allocation has a table, and many never get a permission.
 */
export class PermissionTable {
  #byIp: Map<string, Permission> | null = null;

  /** The permission record for `ip`, live or not (expired records linger while a channel uses them). */
  get(ip: string): Permission | undefined {
    return this.#byIp?.get(ip);
  }

  /** Whether relaying to or from `ip` is permitted at `now`. */
  allows(ip: string, now: number): boolean {
    const permission = this.#byIp?.get(ip);
    return permission !== undefined && permission.expiresAt > now;
  }

  /** Every record, live or not (for pushing a relay's table, RelayTable). */
  values(): IterableIterator<Permission> {
    return (this.#byIp ?? NO_PERMISSIONS).values();
  }

  /** Records in the table (an upper bound on live permissions). */
  get size(): number {
    return this.#byIp?.size ?? 0;
  }

  /**
   * Installs or refreshes the permission for `ip` until at least `expiresAt`, RFC 8656 section 9.
   * A refresh never shortens it: a CreatePermission (300 s) after a ChannelBind (which keeps the
   * permission for the channel's 600 s, see channel-bind.ts) must not cut the channel's peer off early.
   */
  install(ip: string, expiresAt: number): Permission {
    this.#byIp ??= new Map();
    let permission = this.#byIp.get(ip);
    if (permission === undefined) {
      permission = new Permission(ip, expiresAt);
      this.#byIp.set(ip, permission);
    } else if (expiresAt > permission.expiresAt) {
      permission.expiresAt = expiresAt;
    }
    return permission;
  }

  /** Live permissions at `now`. */
  liveCount(now: number): number {
    let n = 0;
    for (const permission of this.values()) if (permission.expiresAt > now) n++;
    return n;
  }

  /** Forgets expired permissions that no channel binding still refers to. */
  sweep(now: number): void {
    if (this.#byIp === null) return;
    for (const [ip, permission] of this.#byIp) {
      if (permission.expiresAt <= now && (permission.channels === null || permission.channels.size === 0)) {
        this.#byIp.delete(ip);
      }
    }
  }
}
