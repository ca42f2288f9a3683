// The benchmark's allocation generator (bench/alloc-load.mjs, issue 19) against a real relay: it
// opens allocations with the full long-term dance, pauses at its checkpoints, and with --release
// (the allocation phase's warm-up) deletes every allocation it opened before it reports `done`,
// so the measured run that follows starts on a server with none live.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTS } from '../helpers/ports.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const SECRET = 'bench-alloc-load-secret';
let relay: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay({
    secrets: [SECRET],
    relayMin: PORTS.benchAllocLoad.relayMin,
    relayMax: PORTS.benchAllocLoad.relayMax,
  });
});

afterAll(async () => {
  await relay?.close();
});

interface Event {
  event: string;
  live: number;
  perSecond?: number;
  released?: number;
  firstError?: unknown;
}

/** Runs the generator to its `done` event, answering each checkpoint; resolves to all its events. */
function runLoad(args: string[]): Promise<{ events: Event[]; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['bench/alloc-load.mjs', '--port', String(relay.port), '--secret', SECRET, '--tenant', 'acme', ...args],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const events: Event[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as Event;
      events.push(event);
      if (event.event === 'checkpoint') child.stdin.write('continue\n');
      // Without --release it holds its allocations until killed.
      if (event.event === 'done' && !args.includes('--release')) child.kill('SIGTERM');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ events, code });
    });
  });
}

describe('bench/alloc-load.mjs', () => {
  it('opens allocations, pauses at the checkpoint, and with --release deletes them all and exits', async () => {
    const before = { created: relay.record.created.length, deleted: relay.record.deleted.length };
    const { events, code } = await runLoad([
      ...['--count', '40', '--checkpoints', '20', '--window', '8', '--sources', '4'],
      '--release',
    ]);
    expect(code).toBe(0);
    expect(events.map((e) => e.event)).toEqual(['checkpoint', 'done']);
    expect(events[0]).toMatchObject({ live: 20 });
    expect(events[1]).toMatchObject({ live: 40, released: 40, firstError: null });
    expect(events[1]!.perSecond).toBeGreaterThan(0);
    expect(relay.record.created.length - before.created).toBe(40);
    // Each deleted by its Refresh with LIFETIME 0, before the generator reported done.
    const deleted = relay.record.deleted.slice(before.deleted);
    expect(deleted).toHaveLength(40);
    expect(deleted.every((d) => d.reason === 'refresh-0')).toBe(true);
  });

  it('without --release keeps its allocations live', async () => {
    const before = { created: relay.record.created.length, deleted: relay.record.deleted.length };
    const { events } = await runLoad(['--count', '10', '--checkpoints', '', '--window', '4']);
    const done = events.find((e) => e.event === 'done');
    expect(done).toMatchObject({ live: 10, firstError: null });
    expect(done).not.toHaveProperty('released');
    expect(relay.record.created.length - before.created).toBe(10);
    expect(relay.record.deleted.length - before.deleted).toBe(0);
  });
});
