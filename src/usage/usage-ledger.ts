// Usage counted in memory until it is written somewhere (the store, or Redis's live view). The
// store keeps whole seconds, so fractions of a second stay here until they add up; a failed
// write puts its rows back, so nothing is lost while the store or Redis is down.
import type { UsageRow } from '../entitlement/store/index.js';
import type { JstDate } from '../entitlement/types.js';

interface Counter {
  bytes: number;
  seconds: number;
}

/** The order of every usage listing: by day, then tenant (as the store answers). */
export function compareUsageRows(a: UsageRow, b: UsageRow): number {
  if (a.day !== b.day) return a.day < b.day ? -1 : 1;
  return a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0;
}

// Seconds accrue as sums of fractions; 0.9999999 must count as 1.
const EPSILON = 1e-6;

/** Per-tenant, per-JST-day counters not yet written. */
export class UsageLedger {
  readonly #days = new Map<JstDate, Map<string, Counter>>();

  #counter(day: JstDate, tenant: string): Counter {
    let tenants = this.#days.get(day);
    if (tenants === undefined) {
      tenants = new Map();
      this.#days.set(day, tenants);
    }
    let counter = tenants.get(tenant);
    if (counter === undefined) {
      counter = { bytes: 0, seconds: 0 };
      tenants.set(tenant, counter);
    }
    return counter;
  }

  /** Adds relayed bytes (whole, non-negative). */
  addBytes(day: JstDate, tenant: string, bytes: number): void {
    if (bytes > 0) this.#counter(day, tenant).bytes += Math.round(bytes);
  }

  /** Adds allocation time in seconds (fractions allowed). */
  addSeconds(day: JstDate, tenant: string, seconds: number): void {
    if (seconds > 0) this.#counter(day, tenant).seconds += seconds;
  }

  /** True when nothing is held, fractions included. */
  get empty(): boolean {
    return this.#days.size === 0;
  }

  /**
   * Removes and answers the whole counters, sorted by day then tenant. Fractions of a second stay
   * for a later take, except on days before `closeBefore` and on every day when `final`: those
   * are rounded and the day is forgotten (a day that is over will get no more fractions).
   */
  take(options: { closeBefore?: JstDate; final?: boolean } = {}): UsageRow[] {
    const rows: UsageRow[] = [];
    for (const [day, tenants] of this.#days) {
      const closing =
        options.final === true || (options.closeBefore !== undefined && day < options.closeBefore);
      for (const [tenant, counter] of tenants) {
        const seconds = closing ? Math.round(counter.seconds) : Math.floor(counter.seconds + EPSILON);
        if (counter.bytes > 0 || seconds > 0) {
          rows.push({ tenant, day, bytesRelayed: counter.bytes, allocationSeconds: seconds });
        }
        counter.bytes = 0;
        counter.seconds = Math.max(0, counter.seconds - seconds);
        if (closing || counter.seconds < EPSILON) tenants.delete(tenant);
      }
      if (tenants.size === 0) this.#days.delete(day);
    }
    return rows.sort(compareUsageRows);
  }

  /** Puts back rows a failed write took. */
  restore(rows: readonly UsageRow[]): void {
    for (const row of rows) {
      const counter = this.#counter(row.day, row.tenant);
      counter.bytes += row.bytesRelayed;
      counter.seconds += row.allocationSeconds;
    }
  }
}
