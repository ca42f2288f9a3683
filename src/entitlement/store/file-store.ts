// The embedded entitlement store: one JSON document under DATA_DIR, for a laptop or a single
// node with no database. Every write replaces the document atomically (atomic-file.ts) while
// holding an in-process queue and a cross-process lock file, and resolves only once the new
// document is durable: an acknowledged write survives a crash. A write's audit records are
// appended to the document it writes (file-audit.ts).
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Order, OrderHistory } from '../types.js';
import { type AtomicWriteFaults, removeOrphanTempFiles, writeFileAtomic } from './atomic-file.js';
import {
  type AuditContext,
  type AuditListener,
  type AuditPage,
  type AuditQuery,
  type AuditRecord,
  auditRecord,
  type NewAuditRecord,
} from './audit.js';
import { importAuditRecord } from './audit-records.js';
import { StoreError } from './errors.js';
import { appendAudit, auditPage } from './file-audit.js';
import { emptyState, type FileState, parseDocument, serialiseDocument, usageKey } from './file-document.js';
import {
  activeKeys,
  copyState,
  newKeyFields,
  type PlannedWrite,
  planReissue,
  planRevoke,
  requireFreeKeyId,
  requireTenant,
} from './file-key-writes.js';
import { orderOnly, planImport } from './order-import.js';
import type {
  EntitlementStore,
  ImportOptions,
  ImportResult,
  IssueKeyResult,
  NewKey,
  ReissueKeyOptions,
  ReissueKeyResult,
  RevokeKeyResult,
  StoredOrder,
  TenantRecord,
  UsageRow,
} from './store.js';
import { StoredKey } from './stored-key.js';
import { checkUsageRange, checkUsageRows } from './usage-rows.js';
import { processIsAlive, WriteLock } from './write-lock.js';
import { WriteQueue } from './write-queue.js';

/** Options of the file store. */
export interface FileStoreOptions {
  dataDir: string;
  /** How long a write waits for another process's write lock; default 10 s. */
  lockTimeoutMs?: number;
  /** Crash simulation for tests. */
  faults?: AtomicWriteFaults;
  /** Told the audit records of each write once it is durable (the process logs them). */
  onAudit?: AuditListener;
}

/** The document's file name inside DATA_DIR. */
export const DOCUMENT_NAME = 'entitlements.json';

interface FileIdentity {
  ino: number;
  size: number;
  mtimeMs: number;
}

function sameIdentity(a: FileIdentity | null, b: FileIdentity | null): boolean {
  return (
    a === b || (a !== null && b !== null && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs)
  );
}

function byReceipt(a: StoredOrder, b: StoredOrder): number {
  const d = Date.parse(a.receivedAt) - Date.parse(b.receivedAt);
  return d !== 0 ? d : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Opens (creating if needed) the file store in `dataDir`. */
export async function openFileStore(options: FileStoreOptions): Promise<FileStore> {
  try {
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StoreError(
      'store_unavailable',
      `cannot create DATA_DIR ${options.dataDir}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const store = new FileStore(options);
  await removeOrphanTempFiles(store.path, processIsAlive);
  await store.ping();
  return store;
}

/** The embedded store: see the file comment. Construct with `openFileStore`. */
export class FileStore implements EntitlementStore {
  readonly kind = 'file' as const;
  /** The document's path. */
  readonly path: string;
  readonly #lock: WriteLock;
  readonly #queue = new WriteQueue();
  readonly #faults: AtomicWriteFaults | undefined;
  readonly #onAudit: AuditListener | undefined;
  #state: FileState = emptyState();
  #identity: FileIdentity | null = null;
  #closed = false;

  constructor(options: FileStoreOptions) {
    this.path = join(options.dataDir, DOCUMENT_NAME);
    this.#lock = new WriteLock(join(options.dataDir, 'entitlements.lock'), options.lockTimeoutMs ?? 10_000);
    this.#faults = options.faults;
    this.#onAudit = options.onAudit;
  }

  /** The current state, re-read when another process (e.g. the CLI) replaced the document. */
  async #current(): Promise<FileState> {
    if (this.#closed) throw new StoreError('store_unavailable', 'the file store is closed');
    let identity: FileIdentity | null;
    try {
      const s = await stat(this.path);
      identity = { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unavailable(this.path, err);
      identity = null;
    }
    if (sameIdentity(identity, this.#identity)) return this.#state;
    let state = emptyState();
    if (identity !== null) {
      const text = await readFile(this.path, 'utf8').catch((err: unknown) => {
        throw unavailable(this.path, err);
      });
      state = parseDocument(text, this.path);
    }
    this.#state = state;
    this.#identity = identity;
    return state;
  }

  /**
   * Runs one write: under the queue and the lock, reads the latest state, lets `mutate` build
   * the next one (a copy: the current state is never touched, so a throw changes nothing),
   * persists it with the write's audit records, and only then makes it current. Public so that a
   * caller that must change more in the same durable write (the reissue-request queue) can compose
   * `planReissue` with its own change.
   */
  write<T>(mutate: (state: FileState) => PlannedWrite<T>): Promise<T> {
    return this.#queue.run(async () => {
      const release = await this.#lock.acquire();
      try {
        const current = await this.#current();
        const planned = mutate(current);
        const { result } = planned;
        let next = planned.next;
        let audited: AuditRecord[] = [];
        if (planned.audit !== undefined && planned.audit.length > 0) {
          next ??= copyState(current);
          audited = appendAudit(next, planned.audit);
        }
        if (next === null) return result;
        try {
          await writeFileAtomic(this.path, serialiseDocument(next), this.#faults);
          const s = await stat(this.path);
          this.#identity = { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs };
        } catch (err) {
          // Unknown whether the rename happened: re-read on next access instead of guessing.
          this.#identity = null;
          this.#state = emptyState();
          throw err instanceof StoreError ? err : unavailable(this.path, err);
        }
        this.#state = next;
        if (audited.length > 0) this.#onAudit?.(audited);
        return result;
      } finally {
        await release();
      }
    });
  }

  /**
   * The current state (re-read if another process replaced the document), for readers that
   * compose with `write` (the reissue-request queue). Never edit it: writes replace records.
   */
  readState(): Promise<FileState> {
    return this.#current();
  }

  importOrders(tenant: string, orders: readonly Order[], options: ImportOptions = {}): Promise<ImportResult> {
    const now = options.now ?? new Date();
    return this.write((state) => {
      const existing = [...(state.orders.get(tenant)?.values() ?? [])];
      const plan = planImport(tenant, existing, orders, now);
      const known = state.tenants.get(tenant);
      const rename = options.tenantName !== undefined && known?.name !== options.tenantName;
      if (plan.inserts.length === 0 && plan.statusUpdates.length === 0 && known !== undefined && !rename) {
        return {
          next: null,
          result: plan.result,
          audit: [importAuditRecord(options.audit, now, plan.result)],
        };
      }
      const next = copyState(state);
      next.tenants.set(tenant, {
        id: tenant,
        name: options.tenantName ?? known?.name ?? null,
        createdAt: known?.createdAt ?? now,
      });
      const tenantOrders = new Map(state.orders.get(tenant));
      for (const order of plan.inserts) tenantOrders.set(order.id, order);
      for (const u of plan.statusUpdates) {
        const before = tenantOrders.get(u.id);
        if (before !== undefined)
          tenantOrders.set(u.id, { ...before, status: u.status, rejection: u.rejection });
      }
      next.orders.set(tenant, tenantOrders);
      const changes =
        known === undefined || rename ? { tenants: [tenant], revokedKeys: [] } : plan.result.changes;
      const result = { ...plan.result, changes };
      return { next, result, audit: [importAuditRecord(options.audit, now, result)] };
    });
  }

  async orderHistory(tenant: string): Promise<OrderHistory | null> {
    const state = await this.#current();
    if (!state.tenants.has(tenant)) return null;
    return { tenant, orders: sortedOrders(state, tenant).map(orderOnly) };
  }

  async listOrders(tenant: string): Promise<StoredOrder[]> {
    return sortedOrders(await this.#current(), tenant).map((o) => ({ ...o }));
  }

  async getTenant(tenant: string): Promise<TenantRecord | null> {
    const t = (await this.#current()).tenants.get(tenant);
    return t === undefined ? null : { ...t };
  }

  async listTenants(): Promise<TenantRecord[]> {
    const tenants = [...(await this.#current()).tenants.values()];
    return tenants.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((t) => ({ ...t }));
  }

  issueKey(tenant: string, key: NewKey, who?: AuditContext): Promise<IssueKeyResult> {
    return this.write((state) => {
      requireTenant(state, tenant);
      requireFreeKeyId(state, key.keyId);
      const active = activeKeys(state, tenant);
      if (active.length > 0) {
        throw new StoreError(
          'active_key_exists',
          `tenant ${tenant} already has an active license key ${active[0]?.keyId}; reissue it instead`,
        );
      }
      const next = copyState(state);
      const fields = newKeyFields(tenant, key);
      next.keys.set(key.keyId, fields);
      return {
        next,
        result: { key: new StoredKey(fields), changes: { tenants: [tenant], revokedKeys: [] } },
        audit: [
          auditRecord(who, key.issuedAt, {
            tenant,
            action: 'key_issued',
            outcome: 'ok',
            keyId: key.keyId,
            details: { server: key.serverIdentity },
          }),
        ],
      };
    });
  }

  reissueKey(tenant: string, key: NewKey, options: ReissueKeyOptions = {}): Promise<ReissueKeyResult> {
    return this.write((state) => planReissue(state, tenant, key, options));
  }

  revokeKey(keyId: string, at: Date, who?: AuditContext): Promise<RevokeKeyResult> {
    return this.write((state) => planRevoke(state, keyId, at, who));
  }

  async recordAudit(records: readonly NewAuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.write(() => ({ next: null, result: undefined, audit: [...records] }));
  }

  async listAudit(query: AuditQuery): Promise<AuditPage> {
    return auditPage(await this.#current(), query);
  }

  async getKey(keyId: string): Promise<StoredKey | null> {
    const key = (await this.#current()).keys.get(keyId);
    return key === undefined ? null : new StoredKey(key);
  }

  async listKeys(tenant: string): Promise<StoredKey[]> {
    const keys = [...(await this.#current()).keys.values()].filter((k) => k.tenant === tenant);
    keys.sort((a, b) => a.issuedAt.getTime() - b.issuedAt.getTime() || (a.keyId < b.keyId ? -1 : 1));
    return keys.map((k) => new StoredKey(k));
  }

  async addUsage(rows: readonly UsageRow[]): Promise<void> {
    checkUsageRows(rows);
    if (rows.length === 0) return;
    await this.write((state) => {
      const next = copyState(state);
      for (const row of rows) {
        const key = usageKey(row.tenant, row.day);
        const before = next.usage.get(key);
        next.usage.set(key, {
          tenant: row.tenant,
          day: row.day,
          bytesRelayed: (before?.bytesRelayed ?? 0) + row.bytesRelayed,
          allocationSeconds: (before?.allocationSeconds ?? 0) + row.allocationSeconds,
        });
      }
      return { next, result: undefined };
    });
  }

  async usage(from: string, to: string): Promise<UsageRow[]> {
    checkUsageRange(from, to);
    const rows = [...(await this.#current()).usage.values()].filter((r) => r.day >= from && r.day <= to);
    rows.sort((a, b) => (a.day !== b.day ? (a.day < b.day ? -1 : 1) : a.tenant < b.tenant ? -1 : 1));
    return rows.map((r) => ({ ...r }));
  }

  async ping(): Promise<void> {
    await this.#current();
  }

  async close(): Promise<void> {
    await this.#queue.drain();
    this.#closed = true;
  }
}

function unavailable(path: string, err: unknown): StoreError {
  return new StoreError('store_unavailable', `cannot access ${path}: ${(err as Error).message}`, {
    cause: err,
  });
}

function sortedOrders(state: FileState, tenant: string): StoredOrder[] {
  return [...(state.orders.get(tenant)?.values() ?? [])].sort(byReceipt);
}
