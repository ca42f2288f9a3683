// Receive-buffer drops of relay sockets, per data plane (issue 16). Node has no SO_RXQ_OVFL, so the
// kernel's per-socket `drops` column of /proc/net/udp and /proc/net/udp6 is read instead; a row
// belongs to a plane when its local port is one of that plane's relay ports of that family (relay
// sockets bind exclusively, so no other socket holds the same address and port).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { TransportAddress } from '../stun/index.js';

/** Something that owns relay sockets: RelayPool (JS path) or NativeSink (native plane). */
export interface RelayPortSource {
  ports(family: TransportAddress['family']): Set<number>;
}

/** One socket row of /proc/net/udp{,6}. */
export interface UdpSocketRow {
  port: number;
  inode: string;
  drops: number;
}

/** Parses /proc/net/udp or /proc/net/udp6 text: local port, inode and drops of each socket. */
export function parseProcUdp(text: string): UdpSocketRow[] {
  const rows: UdpSocketRow[] = [];
  const lines = text.split('\n');
  // Columns: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
  for (let i = 1; i < lines.length; i++) {
    const fields = lines[i]!.trim().split(/\s+/);
    if (fields.length < 13) continue;
    const local = fields[1]!;
    const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    const drops = Number(fields[12]);
    if (!Number.isInteger(port) || !Number.isFinite(drops)) continue;
    rows.push({ port, inode: fields[9]!, drops });
  }
  return rows;
}

/** Reads a /proc file; null where there is none (not Linux, no IPv6). */
export type ProcReader = (path: string) => string | null;

const readProc: ProcReader = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** The two files a poll reads, by address family. */
export const PROC_UDP_FILES = [
  ['IPv4', '/proc/net/udp'],
  ['IPv6', '/proc/net/udp6'],
] as const satisfies readonly (readonly [TransportAddress['family'], string])[];

/** The text of /proc/net/udp and /proc/net/udp6 (null where there is none). */
export type ProcUdpTexts = Readonly<Record<TransportAddress['family'], string | null>>;

/**
 * Reads both files without blocking the event loop. The kernel builds these files in time that
 * grows with the square of the number of UDP sockets of the network namespace (it walks its
 * socket table from the start for every page it hands out): about 50 ms for 8,000 sockets and
 * 250 ms for 16,000 on the machine of bench/README.md, time that a synchronous read takes from
 * the main thread, between two relayed packets. fs.promises reads it on libuv's thread pool.
 */
export async function readProcUdpTexts(): Promise<ProcUdpTexts> {
  const read = (path: string) => readFile(path, 'utf8').catch(() => null);
  const [ipv4, ipv6] = await Promise.all([read(PROC_UDP_FILES[0][1]), read(PROC_UDP_FILES[1][1])]);
  return { IPv4: ipv4, IPv6: ipv6 };
}

/**
 * Turns the kernel's per-socket drop counts into increments per plane. Each poll adds what every
 * relay socket dropped since the previous poll (all of it for a socket seen for the first time);
 * what a socket dropped between the last poll and its close is not seen.
 */
export class RelayDropCounter<Plane extends string> {
  #last = new Map<string, number>();

  constructor(
    private readonly planes: Readonly<Record<Plane, RelayPortSource>>,
    private readonly read: ProcReader = readProc,
  ) {}

  /** Drops since the previous poll, by plane, reading the files synchronously. */
  poll(): Record<Plane, number> {
    return this.tally({ IPv4: this.read(PROC_UDP_FILES[0][1]), IPv6: this.read(PROC_UDP_FILES[1][1]) });
  }

  /** Drops since the previous poll, by plane, from the files' text read by the caller. */
  tally(texts: ProcUdpTexts): Record<Plane, number> {
    const names = Object.keys(this.planes) as Plane[];
    const out = {} as Record<Plane, number>;
    for (const name of names) out[name] = 0;
    const seen = new Map<string, number>();
    for (const [family] of PROC_UDP_FILES) {
      const text = texts[family];
      if (text === null) continue;
      const portsByPlane = names.map((name) => [name, this.planes[name].ports(family)] as const);
      for (const row of parseProcUdp(text)) {
        const owner = portsByPlane.find(([, ports]) => ports.has(row.port));
        if (owner === undefined) continue;
        const key = `${family}/${row.inode}`;
        seen.set(key, row.drops);
        const delta = row.drops - (this.#last.get(key) ?? 0);
        if (delta > 0) out[owner[0]] += delta;
      }
    }
    this.#last = seen;
    return out;
  }
}

/** The kernel's caps on socket buffers (net.core.rmem_max / wmem_max), or null off Linux. */
export function kernelBufferCaps(read: ProcReader = readProc): { rmemMax: number; wmemMax: number } | null {
  const rmem = read('/proc/sys/net/core/rmem_max');
  const wmem = read('/proc/sys/net/core/wmem_max');
  if (rmem === null || wmem === null) return null;
  const rmemMax = Number(rmem.trim());
  const wmemMax = Number(wmem.trim());
  return Number.isFinite(rmemMax) && Number.isFinite(wmemMax) ? { rmemMax, wmemMax } : null;
}
