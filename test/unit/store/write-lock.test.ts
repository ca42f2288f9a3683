import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processIsAlive, WriteLock } from '../../../src/entitlement/store/write-lock.js';
import { WriteQueue } from '../../../src/entitlement/store/write-queue.js';

let dir: string;
let lockPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icegate-lock-'));
  lockPath = join(dir, 'x.lock');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('WriteLock', () => {
  it('lets one holder in at a time, across lock objects', async () => {
    const a = new WriteLock(lockPath, 2_000);
    const b = new WriteLock(lockPath, 2_000);
    let inside = 0;
    let maxInside = 0;
    const holders = [a, b, a, b].map(async (lock) => {
      const release = await lock.acquire();
      inside += 1;
      maxInside = Math.max(maxInside, inside);
      await sleep(5);
      inside -= 1;
      await release();
    });
    await Promise.all(holders);
    expect(maxInside).toBe(1);
  });

  it('names its holder in the lock file and removes it on release', async () => {
    const release = await new WriteLock(lockPath, 100).acquire();
    const [pid, host] = (await readFile(lockPath, 'utf8')).split('\n');
    expect([Number(pid), host]).toEqual([process.pid, hostname()]);
    await release();
    await expect(readFile(lockPath)).rejects.toThrow(/ENOENT/);
  });

  it('breaks a lock whose holder process is gone', async () => {
    await writeFile(lockPath, `4194305\n${hostname()}\nnonce`);
    const release = await new WriteLock(lockPath, 1_000).acquire();
    await release();
  });

  it('breaks a lock left empty by a writer killed between creating and writing it, once it is old', async () => {
    await writeFile(lockPath, '');
    // Fresh: it may be being written right now, so a short wait times out.
    await expect(new WriteLock(lockPath, 50).acquire()).rejects.toMatchObject({ code: 'store_locked' });
    const old = new Date(Date.now() - 5_000);
    await utimes(lockPath, old, old);
    const release = await new WriteLock(lockPath, 1_000).acquire();
    await release();
  });

  it('waits for, then times out on, a live holder and on a holder from another host', async () => {
    await writeFile(lockPath, `${process.ppid}\n${hostname()}\nnonce`);
    await expect(new WriteLock(lockPath, 50).acquire()).rejects.toMatchObject({ code: 'store_locked' });
    await writeFile(lockPath, `4194305\nsome-other-host\nnonce`);
    await expect(new WriteLock(lockPath, 50).acquire()).rejects.toMatchObject({ code: 'store_locked' });
  });

  it('does not remove a lock that is no longer its own', async () => {
    const release = await new WriteLock(lockPath, 100).acquire();
    await writeFile(lockPath, `1\n${hostname()}\nsomeone-else`);
    await release();
    expect(await readFile(lockPath, 'utf8')).toContain('someone-else');
  });

  it('knows this process and its parent are alive', () => {
    expect(processIsAlive(process.pid)).toBe(true);
    expect(processIsAlive(process.ppid)).toBe(true);
    expect(processIsAlive(4194305)).toBe(false);
  });
});

describe('WriteQueue', () => {
  it('runs tasks one at a time in order, and a failure does not block the next', async () => {
    const queue = new WriteQueue();
    const order: string[] = [];
    const task = (name: string, ms: number, fail = false) =>
      queue.run(async () => {
        order.push(`start ${name}`);
        await sleep(ms);
        order.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task('a', 10), task('b', 1, true), task('c', 1)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });
});
