// The fleet-wide live view of usage in Redis: one hash per JST day, `<prefix>usage:<day>`, with
// fields `<tenant>:bytes` and `<tenant>:seconds` that every node increments (HINCRBY) a few
// seconds after counting. It is a view, not the record: the store is written by each node from
// its own counts (usage-accountant.ts), so a Redis outage or flush never loses or doubles the
// accounting, it only makes the live view lag or fall short.
import type { Redis } from 'ioredis';
import { addDays } from '../entitlement/rules/index.js';
import type { UsageRow } from '../entitlement/store/index.js';
import type { JstDate } from '../entitlement/types.js';
import { compareUsageRows } from './usage-ledger.js';

/** How long a day's hash lives after its last increment: long enough to cover a monthly report. */
export const LIVE_VIEW_TTL_SECONDS = 40 * 86_400;

/** Reads and increments the per-day usage hashes under one key prefix. */
export class RedisUsageView {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds = LIVE_VIEW_TTL_SECONDS,
  ) {}

  /** The hash of one JST day. */
  keyOf(day: JstDate): string {
    return `${this.prefix}usage:${day}`;
  }

  /** Adds the rows' counters in one MULTI, so a reader never sees half of a batch. */
  async add(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    const tx = this.redis.multi();
    const days = new Set<JstDate>();
    for (const row of rows) {
      const key = this.keyOf(row.day);
      days.add(row.day);
      if (row.bytesRelayed > 0) tx.hincrby(key, `${row.tenant}:bytes`, row.bytesRelayed);
      if (row.allocationSeconds > 0) tx.hincrby(key, `${row.tenant}:seconds`, row.allocationSeconds);
    }
    for (const day of days) tx.expire(this.keyOf(day), this.ttlSeconds);
    const results = await tx.exec();
    if (results === null) throw new Error('redis usage transaction aborted');
    const failed = results.find(([err]) => err !== null);
    if (failed) throw failed[0] as Error;
  }

  /** Every counter of the days `from..to`, sorted by day then tenant. */
  async read(from: JstDate, to: JstDate): Promise<UsageRow[]> {
    const days: JstDate[] = [];
    for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
    const pipeline = this.redis.pipeline();
    for (const day of days) pipeline.hgetall(this.keyOf(day));
    const results = (await pipeline.exec()) ?? [];
    const rows: UsageRow[] = [];
    days.forEach((day, i) => {
      const [err, hash] = results[i] ?? [new Error('missing pipeline reply'), null];
      if (err) throw err;
      const byTenant = new Map<string, UsageRow>();
      for (const [field, value] of Object.entries((hash ?? {}) as Record<string, string>)) {
        // Tenant ids never contain ':' (isValidTenantId), so the last ':' separates the counter.
        const cut = field.lastIndexOf(':');
        const tenant = field.slice(0, cut);
        const counter = field.slice(cut + 1);
        const n = Number(value);
        if (cut <= 0 || !Number.isSafeInteger(n) || n < 0) continue;
        const row = byTenant.get(tenant) ?? { tenant, day, bytesRelayed: 0, allocationSeconds: 0 };
        if (counter === 'bytes') row.bytesRelayed = n;
        else if (counter === 'seconds') row.allocationSeconds = n;
        else continue;
        byTenant.set(tenant, row);
      }
      rows.push(...byTenant.values());
    });
    return rows.sort(compareUsageRows);
  }
}
