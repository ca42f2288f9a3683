// npm start runs Node with --no-opt and the node turns TurboFan on once it is up
// (src/composition/optimizing-compiler.ts, issue 19: memory at rest). This checks, in a real
// Node process started that way, that enableOptimizingCompiler really turns it on: a function
// that ran hot before the call stays interpreted, and the same function (and a new one) run hot
// after it are optimized. .ci/run runs this file on Node 24 too, the image's runtime.
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableOptimizingCompiler, OptimizerSwitch } from '../../src/composition/optimizing-compiler.js';
import { type ChildBuild, compileForChild } from './store-child-build.js';

let build: ChildBuild;

beforeAll(async () => {
  build = await compileForChild('src/composition/optimizing-compiler.ts');
}, 120_000);

afterAll(async () => {
  if (build !== undefined) await rm(build.dir, { recursive: true, force: true });
});

// V8's %GetOptimizationStatus bits (src/runtime/runtime-test.cc): 1 << 4 optimized (by any
// tier), 1 << 6 TurboFan code. On Node 24 --no-opt alone would leave Maglev on, and functions it
// compiled before the call then stayed at Maglev (measured with this same script); npm start also
// passes --no-maglev, and this runs as npm start does.
const child = (moduleUrl: string) => `
import { enableOptimizingCompiler } from ${JSON.stringify(moduleUrl)};
function status(f) { return %GetOptimizationStatus(f); }
function early(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }
function late(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 5; return s; }
for (let i = 0; i < 20000; i++) early(200);
const before = status(early);
const enabled = enableOptimizingCompiler();
for (let i = 0; i < 20000; i++) { early(200); late(200); }
// Concurrent compilation: give the compile jobs a moment to land.
await new Promise((resolve) => setTimeout(resolve, 200));
for (let i = 0; i < 2000; i++) { early(200); late(200); }
console.log(JSON.stringify({ before, enabled, early: status(early), late: status(late) }));
`;

function run(flags: string[]): { before: number; enabled: boolean; early: number; late: number } {
  const result = spawnSync(
    process.execPath,
    [
      ...flags,
      '--allow-natives-syntax',
      '--input-type=module',
      '-e',
      child(pathToFileURL(build.script).href),
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

const TURBOFANNED = (1 << 4) | (1 << 6);

describe('TurboFan off for start-up, on after it', () => {
  it('under npm start’s --no-opt --no-maglev: nothing optimized before the call, hot code TurboFan-compiled after it', () => {
    const seen = run(['--no-opt', '--no-maglev']);
    expect(seen.enabled).toBe(true);
    expect(seen.before & TURBOFANNED).toBe(0);
    expect(seen.early & TURBOFANNED).toBe(TURBOFANNED);
    expect(seen.late & TURBOFANNED).toBe(TURBOFANNED);
  });

  it('is a no-op in a process started with TurboFan on (which optimizes as usual)', () => {
    const seen = run([]);
    expect(seen.enabled).toBe(false);
    expect(seen.before & TURBOFANNED).toBe(TURBOFANNED);
  });

  it('recognises both spellings of the flag and sets only --turbofan', () => {
    const set: string[] = [];
    expect(enableOptimizingCompiler(['--no-memory-reducer', '--no-turbofan'], (f) => set.push(f))).toBe(true);
    expect(enableOptimizingCompiler(['--no-opt'], (f) => set.push(f))).toBe(true);
    expect(enableOptimizingCompiler(['--max-semi-space-size=2'], (f) => set.push(f))).toBe(false);
    expect(set).toEqual(['--turbofan', '--turbofan']);
  });
});

describe('OptimizerSwitch: TurboFan on at the first of settled, a request, an allocation', () => {
  const make = () => {
    const heard: string[] = [];
    let enabled = 0;
    const optimizer = new OptimizerSwitch(
      () => {
        enabled++;
        return true;
      },
      (reason) => heard.push(reason),
    );
    return { optimizer, heard, enabled: () => enabled };
  };

  it('turns on once, at the first HTTP request that is not a probe', async () => {
    const { optimizer, heard, enabled } = make();
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      optimizer.watchHttp(server, new Set(['/healthz', '/readyz']));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await fetch(`${base}/healthz`);
      await fetch(`${base}/readyz?full=1`);
      expect(optimizer.on).toBe(false);
      await fetch(`${base}/v1/ice-servers`);
      await fetch(`${base}/v1/ice-servers`);
      optimizer.turnOn('start-up settled');
      expect(heard).toEqual(['first HTTP request']);
      expect(enabled()).toBe(1);
      // It stopped listening once on.
      expect(server.listenerCount('request')).toBe(1);
    } finally {
      server.close();
    }
  });

  it('turns on at the first allocation it sees, and stops looking', async () => {
    const { optimizer, heard } = make();
    let created = 0;
    optimizer.watchAllocations(() => created, 10);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(optimizer.on).toBe(false);
    created = 1;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard).toEqual(['first allocation']);
  });

  it('turns on when start-up settles if nothing came first; stop() ends the watching', () => {
    const { optimizer, heard } = make();
    optimizer.watchAllocations(() => 0, 10);
    optimizer.turnOn('start-up settled');
    optimizer.turnOn('first allocation');
    expect(heard).toEqual(['start-up settled']);
  });
});
