import { type Cidr, ipv4InCidr, ipv6InCidr, parseCidr } from './cidr.js';
import type { PeerDenyReason } from './deny-reason.js';
import { embeddedIpv4 } from './embedded-ipv4.js';
import { PeerFilterConfigError } from './errors.js';
import { type IpAddress, type Ipv6Words, parseIpAddress } from './ip-address.js';
import { builtinIpv4Reason, builtinIpv6Reason } from './special-purpose-ranges.js';

/** The verdict on one peer address. */
export type PeerCheck = { allowed: true } | { allowed: false; reason: PeerDenyReason };

/** Peer filter configuration (`TURN_DENIED_PEERS`, `TURN_ALLOWED_PEERS`, `TURN_ALLOW_LOOPBACK_PEERS`). */
export interface PeerFilterOptions {
  /** Extra denied networks; they add to the built-in list, they never replace it. */
  deny?: readonly (string | Cidr)[];
  /** Allowed networks; they win over the built-in list and `deny`. */
  allow?: readonly (string | Cidr)[];
  /** Tests only: allow 127.0.0.0/8 and ::1 in every encoding, and nothing else. */
  allowLoopback?: boolean;
  /**
   * The server's own listen, relay and external addresses. When the server listens on 0.0.0.0 or
   * ::, pass every local interface address instead (see `resolveServerAddresses`): a relay that
   * can reach its own wildcard listener can reach every address of the host.
   */
  serverAddresses?: readonly string[];
}

/** Verdicts kept for repeated addresses (Send indications repeat the same few peers). */
export const PEER_VERDICT_CACHE_SIZE = 4096;

const ALLOWED: PeerCheck = Object.freeze({ allowed: true });
const DENIED = new Map<PeerDenyReason, PeerCheck>();
function denied(reason: PeerDenyReason): PeerCheck {
  let verdict = DENIED.get(reason);
  if (verdict === undefined) {
    verdict = Object.freeze({ allowed: false, reason });
    DENIED.set(reason, verdict);
  }
  return verdict;
}

const isLoopbackV4 = (value: number): boolean => value >>> 24 === 127;
const isLoopbackV6 = (w: Ipv6Words): boolean => w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 1;
const isUnspecifiedV6 = (w: Ipv6Words): boolean => w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0;

/**
 * Deny-by-default peer policy for CreatePermission, ChannelBind and Send. RFC 8656 leaves which
 * peers a server relays to to local policy (a refused permission is a 403) and its security
 * considerations warn about relaying into the server's own networks. Pure and synchronous.
 *
 * An address is judged under each of its identities: itself, and every IPv4 address it embeds
 * (IPv4-mapped, SIIT, IPv4-compatible, NAT64, 6to4, Teredo server and client, ISATAP). It is
 * allowed only if every identity is. For one identity, in order:
 * 1. the unspecified address (0.0.0.0, ::) and the server's own addresses are denied, and no
 *    allow entry lifts that (on Linux, sending to 0.0.0.0 reaches the host itself);
 * 2. an allow entry matching the identity allows it;
 * 3. a built-in range denies it, except loopback when `allowLoopback` is set;
 * 4. a configured deny entry denies it.
 * An allow entry on an IPv6 prefix therefore does not allow the IPv4 addresses embedded in it:
 * allow those IPv4 networks themselves. `allowLoopback` also exempts loopback server addresses,
 * since in tests the server and its peers share 127.0.0.1.
 */
export class PeerFilter {
  readonly #allowV4: Cidr[] = [];
  readonly #allowV6: Cidr[] = [];
  readonly #denyV4: Cidr[] = [];
  readonly #denyV6: Cidr[] = [];
  readonly #serverV4 = new Set<number>();
  readonly #serverV6: Ipv6Words[] = [];
  readonly #allowLoopback: boolean;
  // The filter is immutable, so a verdict never goes stale; the map is emptied when full rather than
  // kept in LRU order, which bounds memory against a spray of distinct addresses at no per-hit cost.
  readonly #verdicts = new Map<string, PeerCheck>();

  constructor(options: PeerFilterOptions = {}) {
    this.#allowLoopback = options.allowLoopback === true;
    for (const entry of options.allow ?? []) pushCidr(entry, this.#allowV4, this.#allowV6, 'allow');
    for (const entry of options.deny ?? []) pushCidr(entry, this.#denyV4, this.#denyV6, 'deny');
    for (const text of options.serverAddresses ?? []) this.#addServerAddress(text);
  }

  /** Number of cached verdicts (never above PEER_VERDICT_CACHE_SIZE). */
  get cachedVerdictCount(): number {
    return this.#verdicts.size;
  }

  /** Judges a peer address in text form; anything that is not a strict IPv4/IPv6 literal is 'invalid'. */
  check(address: string): PeerCheck {
    const cached = this.#verdicts.get(address);
    if (cached !== undefined) return cached;
    const ip = parseIpAddress(address);
    const verdict = ip === null ? denied('invalid') : this.checkIp(ip);
    if (this.#verdicts.size >= PEER_VERDICT_CACHE_SIZE) this.#verdicts.clear();
    this.#verdicts.set(address, verdict);
    return verdict;
  }

  /** Judges an already parsed address (e.g. from XOR-PEER-ADDRESS bytes via `ipFromBytes`). */
  checkIp(ip: IpAddress): PeerCheck {
    if (ip.family === 4) {
      const reason = this.#judgeV4(ip.value);
      return reason === null ? ALLOWED : denied(reason);
    }
    const words = ip.words;
    if (isUnspecifiedV6(words)) return denied('unspecified');
    const embedded = isLoopbackV6(words) ? [] : embeddedIpv4(words);
    const alias = embedded.length > 0 && embedded[0]!.alias;
    const literal = this.#judgeV6(words, !alias);
    if (literal !== null) return denied(literal);
    for (const carrier of embedded) {
      for (const value of carrier.addresses) {
        const reason = this.#judgeV4(value);
        if (reason !== null) return denied(reason);
      }
    }
    return ALLOWED;
  }

  #judgeV4(value: number): PeerDenyReason | null {
    if (value === 0) return 'unspecified';
    if (this.#serverV4.has(value) && !(this.#allowLoopback && isLoopbackV4(value))) return 'server_address';
    for (const cidr of this.#allowV4) if (ipv4InCidr(cidr, value)) return null;
    const builtin = builtinIpv4Reason(value);
    if (builtin !== null && !(builtin === 'loopback' && this.#allowLoopback)) return builtin;
    for (const cidr of this.#denyV4) if (ipv4InCidr(cidr, value)) return 'configured_deny';
    return null;
  }

  #judgeV6(words: Ipv6Words, withBuiltin: boolean): PeerDenyReason | null {
    if (this.#isServerV6(words) && !(this.#allowLoopback && isLoopbackV6(words))) return 'server_address';
    for (const cidr of this.#allowV6) if (ipv6InCidr(cidr, words)) return null;
    if (withBuiltin) {
      const builtin = builtinIpv6Reason(words);
      if (builtin !== null && !(builtin === 'loopback' && this.#allowLoopback)) return builtin;
    }
    for (const cidr of this.#denyV6) if (ipv6InCidr(cidr, words)) return 'configured_deny';
    return null;
  }

  #isServerV6(words: Ipv6Words): boolean {
    for (const s of this.#serverV6) {
      if (s[0] === words[0] && s[1] === words[1] && s[2] === words[2] && s[3] === words[3]) return true;
    }
    return false;
  }

  #addServerAddress(text: string): void {
    const ip = parseIpAddress(text);
    if (ip === null) {
      throw new PeerFilterConfigError(
        'ICEGATE_PEER_FILTER_BAD_SERVER_ADDRESS',
        `server address '${text}' is not an IPv4 or IPv6 address`,
      );
    }
    if (ip.family === 4) {
      this.#serverV4.add(ip.value);
      return;
    }
    // A server address written as an IPv4 alias (e.g. ::ffff:1.2.3.4) is that IPv4 address.
    const alias = embeddedIpv4(ip.words).find((e) => e.alias);
    if (alias !== undefined && !isLoopbackV6(ip.words) && !isUnspecifiedV6(ip.words)) {
      for (const value of alias.addresses) this.#serverV4.add(value);
    } else {
      this.#serverV6.push(ip.words);
    }
  }
}

function pushCidr(entry: string | Cidr, v4: Cidr[], v6: Cidr[], list: 'allow' | 'deny'): void {
  let cidr: Cidr;
  if (typeof entry === 'string') {
    const parsed = parseCidr(entry);
    if (!parsed.ok)
      throw new PeerFilterConfigError('ICEGATE_PEER_FILTER_BAD_CIDR', `${list} list: ${parsed.error}`);
    cidr = parsed.cidr;
  } else {
    cidr = entry;
  }
  (cidr.family === 4 ? v4 : v6).push(cidr);
}
