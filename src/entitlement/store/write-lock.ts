// The cross-process write lock of the file store. Held only for the duration of one write, so a
// running node and an `icegate` CLI can share one DATA_DIR: the CLI waits for the node's write
// to finish instead of being refused. The lock is a file created with O_EXCL that names its
// holder (pid, host, nonce); a lock whose holder process is gone is stale and broken.
import { randomBytes } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from './errors.js';

/** True when a process with this pid exists on this host (EPERM means it exists but is not ours). */
export function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LockHolder {
  pid: number;
  host: string;
  nonce: string;
}

function parseHolder(text: string): LockHolder | null {
  const [pid, host, nonce] = text.split('\n');
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0 || host === undefined || nonce === undefined) return null;
  return { pid: n, host, nonce };
}

/** A guard older than this belongs to a breaker that died; it may be removed. */
const BREAK_GUARD_STALE_MS = 10_000;
/**
 * A lock file without a complete holder record older than this was left by a writer that died
 * between creating the file and writing its record (microseconds apart); it may be removed.
 */
const HALF_WRITTEN_STALE_MS = 1_000;

/** An exclusive, cross-process lock on one path, meant to be held briefly. */
export class WriteLock {
  readonly #path: string;
  readonly #timeoutMs: number;

  constructor(path: string, timeoutMs: number) {
    this.#path = path;
    this.#timeoutMs = timeoutMs;
  }

  /** Waits for the lock (up to the timeout, else `store_locked`) and returns its release function. */
  async acquire(): Promise<() => Promise<void>> {
    const deadline = Date.now() + this.#timeoutMs;
    const me = `${process.pid}\n${hostname()}\n${randomBytes(8).toString('hex')}`;
    let pause = 2;
    for (;;) {
      if (await this.#tryCreate(me)) {
        return async () => {
          // Remove only our own lock: never one a breaker replaced after judging ours stale.
          const text = await readFile(this.#path, 'utf8').catch(() => null);
          if (text === me) await unlink(this.#path).catch(() => undefined);
        };
      }
      await this.#breakIfStale();
      if (Date.now() >= deadline) {
        const holder = parseHolder((await readFile(this.#path, 'utf8').catch(() => '')) ?? '');
        const who = holder === null ? 'another writer' : `process ${holder.pid} on ${holder.host}`;
        throw new StoreError(
          'store_locked',
          `the data directory is locked by ${who} (lock file ${this.#path}); ` +
            'if no icegate process is running there, remove the lock file',
        );
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 50);
    }
  }

  async #tryCreate(content: string): Promise<boolean> {
    try {
      const handle = await open(this.#path, 'wx', 0o600);
      try {
        await handle.writeFile(content, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new StoreError(
        'store_unavailable',
        `cannot create lock file ${this.#path}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async #breakIfStale(): Promise<void> {
    const text = await readFile(this.#path, 'utf8').catch(() => null);
    if (text === null) return;
    const holder = parseHolder(text);
    if (holder === null) {
      // Half-written: probably being written right now, unless it has been like this for a while
      // (its writer was killed between open and write; found by test/integration/store-file-crash).
      const age = await stat(this.#path).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age <= HALF_WRITTEN_STALE_MS) return;
    } else if (holder.host !== hostname() || processIsAlive(holder.pid)) {
      // A lock from another host (shared volume) cannot be judged here: wait for the timeout.
      return;
    }

    // Two processes may judge the same lock stale; the guard lets only one of them remove it,
    // and the re-read makes sure it removes that stale lock and not a fresh one.
    const guard = `${this.#path}.break`;
    let guardHandle: Awaited<ReturnType<typeof open>>;
    try {
      guardHandle = await open(guard, 'wx', 0o600);
    } catch {
      const age = await stat(guard).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > BREAK_GUARD_STALE_MS) await unlink(guard).catch(() => undefined);
      return;
    }
    try {
      const again = await readFile(this.#path, 'utf8').catch(() => null);
      if (again === text) await unlink(this.#path).catch(() => undefined);
    } finally {
      await guardHandle.close();
      await unlink(guard).catch(() => undefined);
    }
  }
}
