// Memory at rest (issue 19 point 3): an embedded node (no DATABASE_URL, no REDIS_URL) must not
// load pg, ioredis or the holiday table at start; each is loaded when first needed. Checked on
// the build output in a child process, where Node's own CommonJS cache says what was loaded.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

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
console.log(JSON.stringify(['pg', 'ioredis', '@holiday-jp/holiday_jp'].filter(hit)));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
  return JSON.parse(stdout.trim()) as string[];
}

describe('lazily loaded dependencies', () => {
  beforeAll(async () => {
    await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, timeout: 170_000 }).catch((err) => {
      if (!existsSync(join(ROOT, 'dist/src/main.js'))) throw err;
    });
  }, 180_000);

  it('the entry point, the stores, the caches and the rules load none of pg, ioredis and the holiday table', async () => {
    expect(
      await loadedPackages([
        'main.js',
        'entitlement/store/index.js',
        'entitlement/cache/index.js',
        'entitlement/rules/business-days.js',
      ]),
    ).toEqual([]);
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
