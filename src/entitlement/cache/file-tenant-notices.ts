// Tenant changes told through a file under DATA_DIR, for nodes without Redis (issue 20, point 5).
// The CLI writes to the store directly; in embedded mode there is no bus between it and the
// running node, which would see a revoked key only when its cached answers expire (a minute). So
// the CLI appends each change as one JSON line to DATA_DIR/tenant-changes.jsonl, and a node
// without Redis polls the file's size and publishes the new lines on its own in-process bus:
// caches drop the tenant and enforcement closes a revoked key's allocations, as after an admin
// API call. Old lines are never replayed (a node starts reading at the file's end).
import { appendFile, mkdir, open, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log/logger.js';
import { parseTenantChange, type TenantChange, type TenantEvents } from './tenant-events.js';

/** The notice file's name inside DATA_DIR. */
export const TENANT_NOTICE_FILE = 'tenant-changes.jsonl';

/** The file is started afresh past this size (a line is about 100 bytes). */
const MAX_NOTICE_FILE_BYTES = 1 << 20;

/** How often a node looks at the file: a revocation reaches it within about this long. */
export const DEFAULT_NOTICE_POLL_MS = 250;

/**
 * Appends `changes` to DATA_DIR's notice file (one line each, written in one call, so a reader
 * never sees half a change); past 1 MiB the file is started afresh, which readers notice by its
 * shrinking. Resolves to the file's path.
 */
export async function appendTenantNotices(
  dataDir: string,
  changes: readonly TenantChange[],
): Promise<string> {
  const path = join(dataDir, TENANT_NOTICE_FILE);
  if (changes.length === 0) return path;
  const text = changes.map((c) => `${JSON.stringify({ origin: 'icegate-cli', ...c })}\n`).join('');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  if (size > MAX_NOTICE_FILE_BYTES) await writeFile(path, text, { mode: 0o600 });
  else await appendFile(path, text, { mode: 0o600 });
  return path;
}

/** Options of TenantNoticeWatcher. */
export interface TenantNoticeWatcherOptions {
  dataDir: string;
  /** The node's bus: every change read is published on it. */
  events: Pick<TenantEvents, 'publish'>;
  logger: Logger;
  pollMs?: number;
}

/** Reads the notice file's new lines and publishes them; one per node without Redis. */
export class TenantNoticeWatcher {
  readonly #path: string;
  readonly #options: TenantNoticeWatcherOptions;
  #offset = 0;
  #partial = '';
  #timer: NodeJS.Timeout | null = null;
  #reading: Promise<void> = Promise.resolve();

  constructor(options: TenantNoticeWatcherOptions) {
    this.#options = options;
    this.#path = join(options.dataDir, TENANT_NOTICE_FILE);
  }

  /** Starts at the file's current end and polls from then on. */
  async start(): Promise<void> {
    this.#offset = await this.#size();
    this.#timer = setInterval(() => {
      this.#reading = this.#reading.then(() => this.poll());
    }, this.#options.pollMs ?? DEFAULT_NOTICE_POLL_MS);
    this.#timer.unref();
  }

  /** Reads and publishes what was appended since the last look (the timer calls it). */
  async poll(): Promise<void> {
    try {
      const size = await this.#size();
      if (size < this.#offset) {
        // Started afresh by a writer: everything in it is new.
        this.#offset = 0;
        this.#partial = '';
      }
      if (size === this.#offset) return;
      const handle = await open(this.#path, 'r');
      let chunk: Buffer;
      try {
        chunk = Buffer.alloc(size - this.#offset);
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, this.#offset);
        chunk = chunk.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
      this.#offset += chunk.length;
      const lines = (this.#partial + chunk.toString('utf8')).split('\n');
      this.#partial = lines.pop() ?? '';
      for (const line of lines) await this.#publish(line);
    } catch (err) {
      this.#options.logger.warn('tenant notice file unreadable', {
        path: this.#path,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /** Stops polling (after a read in progress). */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#reading;
  }

  async #publish(line: string): Promise<void> {
    if (line.trim() === '') return;
    let change: TenantChange | null = null;
    try {
      change = parseTenantChange(JSON.parse(line));
    } catch {
      change = null;
    }
    if (change === null) {
      this.#options.logger.warn('tenant notice ignored: not a tenant change', { path: this.#path });
      return;
    }
    this.#options.logger.info('tenant change from the CLI', {
      tenant: change.tenant,
      kind: change.kind,
      ...(change.keyId === undefined ? {} : { keyId: change.keyId }),
    });
    await this.#options.events.publish(change);
  }

  async #size(): Promise<number> {
    return stat(this.#path).then(
      (s) => s.size,
      () => 0,
    );
  }
}
