// Memory at rest (issue 19 point 3): an embedded node (no DATABASE_URL, no REDIS_URL) must not
// load pg, ioredis or the holiday table at start; each is loaded when first needed. Checked on
// the build output in a child process, where Node's own CommonJS cache says what was loaded.
// And an idle `icegate serve` (what npm start, the image and the chart run) loads neither the
// command line (commander, the other commands) nor the OpenAPI document, and once it is up
// collects its V8 heap (the addon's LowMemoryNotification) and trims its C heap (malloc_trim).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTS } from '../helpers/ports.js';
import { eventually, LineCapture } from './drain-harness.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/** Imports `modules` (paths under dist/src), runs `then`, prints the loaded packages of interest. */
async function loadedPackages(modules: string[], then = ''): Promise<string[]> {
  const imports = modules.map(
    (m, i) => `const m${i} = await import(${JSON.stringify(join(ROOT, 'dist/src', m))});`,
  );
  const script = `${imports.join('\n')}
${then}
const { createRequire } = await import('node:module');
const cache = Object.keys(createRequire(import.meta.url).cache);
const hit = (name) => cache.some((file) => file.includes('/node_modules/' + name + '/'));
console.log(JSON.stringify(['pg', 'ioredis', '@holiday-jp/holiday_jp', 'jsonwebtoken'].filter(hit)));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
  return JSON.parse(stdout.trim()) as string[];
}

describe('lazily loaded dependencies', () => {
  beforeAll(async () => {
    await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, timeout: 170_000 }).catch((err) => {
      if (!existsSync(join(ROOT, 'dist/src/main.js'))) throw err;
    });
  }, 180_000);

  it('the entry point, the stores, the caches, the rules and the token code load none of pg, ioredis, the holiday table and jsonwebtoken', async () => {
    expect(
      await loadedPackages([
        'main.js',
        'entitlement/store/index.js',
        'entitlement/cache/index.js',
        'entitlement/rules/business-days.js',
        'http/admin-auth.js',
        'licensing/tenant-token.js',
        'composition/admin-token.js',
      ]),
    ).toEqual([]);
  });

  it('jsonwebtoken is loaded by the first token signed or verified', async () => {
    const loaded = await loadedPackages(
      ['composition/admin-token.js', 'http/admin-auth.js'],
      `const { createSecretKey } = await import('node:crypto');
const secret = 'a'.repeat(32);
const { token } = m0.mintAdminToken(secret, { subject: 'lazy-test' });
const admin = m1.verifyAdminToken(token, createSecretKey(Buffer.from(secret)), Date.now());
if (admin.subject !== 'lazy-test') throw new Error('the minted token did not verify');`,
    );
    expect(loaded).toEqual(['jsonwebtoken']);
  });

  it('each is loaded when first used: a business-day question, a Redis connection', async () => {
    const loaded = await loadedPackages(
      ['entitlement/rules/business-days.js', 'entitlement/cache/index.js'],
      `m0.isNationalHoliday('2026-01-01');
const health = { failure() {}, success() {}, readyWhen() {} };
const redis = m1.openRedis('redis://127.0.0.1:6379', health);
await redis.close();`,
    );
    expect(loaded).toEqual(['ioredis', '@holiday-jp/holiday_jp']);
  });
});

describe('an idle icegate serve', () => {
  let dir: string;
  let node: ChildProcess | undefined;
  const output = new LineCapture();
  /** Every module the node loaded: ES modules from a loader hook, CommonJS from require.cache. */
  let loaded: string[] = [];
  /** Node's built-in modules the node loaded (process.moduleLoadList: 'NativeModule <id>'). */
  let builtins: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icegate-lazy-serve-'));
    const esmLog = join(dir, 'esm-loaded.txt');
    const cjsLog = join(dir, 'cjs-loaded.json');
    const builtinLog = join(dir, 'builtins-loaded.json');
    // The hook runs on the loader's thread and appends each ES module's URL as it is loaded.
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(esmLog)}, url + '\\n');
  return next(url, context);
}`,
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});
process.on('SIGUSR2', async () => {
  const { createRequire } = await import('node:module');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(${JSON.stringify(builtinLog)}, JSON.stringify(process.moduleLoadList));
  writeFileSync(${JSON.stringify(cjsLog)}, JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));
});`,
    );
    const ports = PORTS.lazyServe;
    node = spawn(
      process.execPath,
      [
        '--import',
        pathToFileURL(join(dir, 'register.mjs')).href,
        join(ROOT, 'dist/src/cli/main.js'),
        'serve',
      ],
      {
        cwd: ROOT,
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          DATA_DIR: join(dir, 'data'),
          TURN_LISTEN_IP: '127.0.0.1',
          TURN_PORT: String(ports.peer),
          TURN_MIN_PORT: String(ports.relayMin),
          TURN_MAX_PORT: String(ports.relayMax),
          HTTP_PORT: String(ports.peer + 2),
          HTTP_LISTEN_IP: '127.0.0.1',
          METRICS_PORT: String(ports.peer + 3),
          METRICS_LISTEN_IP: '127.0.0.1',
          DRAIN_TIMEOUT_SECONDS: '0',
          LOG_LEVEL: 'debug',
          // scripts/node24.sh runs this file on Node 24 with the addon built for it.
          ...(process.env['ICEGATE_NATIVE_ADDON']
            ? { ICEGATE_NATIVE_ADDON: process.env['ICEGATE_NATIVE_ADDON'] }
            : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    node.stdout!.pipe(output.stream);
    node.stderr!.pipe(output.stream);
    // The trim runs TRIM_AFTER_START_MS (5 s) after the node has started.
    await eventually(
      () => output.json().some((l) => l['message'] === 'C heap trimmed'),
      30_000,
      `icegate serve started and trimmed\n${output.text}`,
    );
    node.kill('SIGUSR2');
    await eventually(() => existsSync(cjsLog), 10_000, 'the CommonJS module list written');
    builtins = JSON.parse(readFileSync(builtinLog, 'utf8')) as string[];
    loaded = [
      ...readFileSync(esmLog, 'utf8').split('\n').filter(Boolean),
      ...(JSON.parse(readFileSync(cjsLog, 'utf8')) as string[]).map((file) => pathToFileURL(file).href),
    ];
  }, 240_000);

  afterAll(async () => {
    node?.kill('SIGKILL');
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('runs the native plane, collects the V8 heap and trims the C heap once it is up', () => {
    const started = output.json().find((l) => l['message'] === 'icegate started');
    expect(started?.['dataPlane']).toBe('native');
    const messages = output.json().map((l) => l['message']);
    expect(messages.indexOf('V8 heap collected')).toBeGreaterThan(messages.indexOf('icegate started'));
    expect(messages.indexOf('V8 heap collected')).toBeLessThan(messages.indexOf('C heap trimmed'));
    const collected = output.json().find((l) => l['message'] === 'V8 heap collected');
    // Start-up left garbage and a grown heap: the collection gives some of it back.
    expect(collected?.['heapTotalAfter']).toBeLessThan(collected?.['heapTotalBefore'] as number);
    // Log timestamps are ISO 8601 UTC (written from the UTC fields, log/utc-timestamp.ts).
    expect(String(started?.['timestamp'])).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const trims = output.json().filter((l) => l['message'] === 'C heap trimmed');
    expect(trims.map((l) => l['reason'])).toEqual(['started']);
    expect(typeof trims[0]?.['released']).toBe('boolean');
  });

  it('loads the relay and the HTTP API, not the command line, the OpenAPI document, pg or ioredis', () => {
    const has = (part: string) => loaded.some((url) => url.includes(part));
    // The check is only worth something if the lists are complete: the node's own modules are in.
    expect(has('/dist/src/main.js')).toBe(true);
    expect(has('/dist/src/http/app.js')).toBe(true);
    expect(has('/node_modules/express/')).toBe(true);
    for (const absent of [
      '/node_modules/commander/',
      '/dist/src/cli/program.js',
      '/dist/src/cli/store-commands.js',
      '/dist/src/cli/fleet-notice.js',
      '/dist/src/http/openapi.js',
      '/node_modules/pg/',
      '/node_modules/ioredis/',
      '/node_modules/@holiday-jp/',
    ]) {
      expect(
        loaded.filter((url) => url.includes(absent)),
        absent,
      ).toEqual([]);
    }
  });

  it("loads no TLS code without a TLS listener, and none of Node's undici, http2 or assert", () => {
    // The list is complete: what every node uses is in it.
    for (const present of ['dgram', 'net', 'http', 'crypto', 'zlib']) {
      expect(builtins, present).toContain(`NativeModule ${present}`);
    }
    // tls only with TURN_TLS_CERT (src/node-builtins.ts loads it on first use). undici (and with
    // it http2, assert and tls) is what an ESM import of node:http loads on Node 24, through the
    // module's lazy WebSocket getters; icegate takes http through require() and never loads it.
    for (const absent of [
      'tls',
      '_tls_wrap',
      'internal/tls/wrap',
      'http2',
      'assert',
      'internal/deps/undici/undici',
    ]) {
      expect(builtins, absent).not.toContain(`NativeModule ${absent}`);
    }
  });
});
