// A writer process killed with SIGKILL in the middle of its write loop: reopening the data
// directory finds a document that parses and holds every order the writer had acknowledged.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileStore } from '../../src/entitlement/store/index.js';
import { type ChildBuild, compileForChild } from './store-child-build.js';

let build: ChildBuild;
beforeAll(async () => {
  build = await compileForChild('test/integration/store-crash-writer.ts');
}, 120_000);
afterAll(async () => {
  if (build !== undefined) await rm(build.dir, { recursive: true, force: true });
});

interface Run {
  acked: string[];
  usageAcked: number;
  signal: NodeJS.Signals | null;
}

/** Runs the writer and kills it once `killAfter` orders are acknowledged (bounded by a timeout). */
function runAndKill(dataDir: string, killAfter: number, extraDelayMs: number): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [build.script, dataDir, '400'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: string[] = [];
    let usageAcked = 0;
    let buffered = '';
    let stderr = '';
    let killing = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [word, id, n] = line.split(' ');
        if (word === 'ack' && id !== undefined) {
          acked.push(id);
          if (n !== undefined) usageAcked = Number(n);
        }
      }
      if (!killing && acked.length >= killAfter) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), extraDelayMs);
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer ended without being killed: ${stderr}`));
      else resolvePromise({ acked, usageAcked, signal });
    });
  });
}

describe('file store: writer killed mid-write', () => {
  for (const [killAfter, delay] of [
    [15, 0],
    [25, 3],
    [35, 7],
  ] as const) {
    it(`keeps every acknowledged order (kill after ${killAfter} acks + ${delay} ms)`, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'icegate-crash-'));
      try {
        const run = await runAndKill(dataDir, killAfter, delay);
        expect(run.acked.length).toBeGreaterThanOrEqual(killAfter);
        // The document parses as JSON by itself, not only through the store.
        JSON.parse(await readFile(join(dataDir, 'entitlements.json'), 'utf8'));
        // Reopening must break the dead writer's lock (if it held one) and remove its temp file.
        const store = await openFileStore({ dataDir, lockTimeoutMs: 2_000 });
        const stored = new Set((await store.listOrders('acme')).map((o) => o.id));
        for (const id of run.acked) expect(stored.has(id)).toBe(true);
        // At most the one write in flight may have landed beyond the acknowledged ones.
        expect(stored.size).toBeLessThanOrEqual(run.acked.length + 1);
        const usage = await store.usage('2027-01-01', '2027-01-01');
        const total = (run.usageAcked * (run.usageAcked + 1)) / 2;
        expect(usage[0]?.bytesRelayed ?? 0).toBeGreaterThanOrEqual(total);
        // And the store is writable again.
        await store.importOrders('acme', [
          { id: 'after', kind: 'additional', receivedAt: '2027-06-01T00:00:00Z', licenses: 1 },
        ]);
        expect((await store.listOrders('acme')).some((o) => o.id === 'after')).toBe(true);
        await store.close();
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  }
});
