// scripts/test-setup.mjs, the step `npm test` runs first (its pretest) and .ci/run through it:
// on a machine that lacks the suites' peers it stops at once with the exact apt-get line, and it
// names a service that does not answer with how to start it. ICEGATE_TEST_SETUP=check keeps it
// from installing, as it would as root.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { TEST_REDIS_URL } from './http-harness.js';
import { TEST_DATABASE_URL } from './store-pg-harness.js';

function runSetup(env: Record<string, string>): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['scripts/test-setup.mjs'], {
    env: { TEST_REDIS_URL, TEST_DATABASE_URL, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stderr: r.stderr };
}

describe('the test set-up step', () => {
  it('passes silently when the peers and services are there', () => {
    const r = runSetup({ PATH: process.env['PATH'] ?? '' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('names the exact apt-get line for missing coturn clients and Chromium, and installs nothing', () => {
    // Nothing on PATH: no turnutils_*, no apt-get (node is run by its full path).
    const r = runSetup({
      PATH: '/nonexistent',
      CHROMIUM_PATH: '/nonexistent/chromium',
      ICEGATE_TEST_SETUP: 'check',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("missing coturn's test clients, headless Chromium");
    expect(r.stderr).toContain(
      'sudo apt-get update && sudo apt-get install -y --no-install-recommends coturn chromium',
    );
  });

  it('names Redis and PostgreSQL that do not answer, with how to start them', () => {
    // A port nothing listens on (bound and released at once is racy; 1 is never a server here).
    const r = runSetup({
      PATH: process.env['PATH'] ?? '',
      TEST_REDIS_URL: 'redis://127.0.0.1:1',
      // The test server with its credentials, and a database it does not have.
      TEST_DATABASE_URL: (() => {
        const url = new URL(TEST_DATABASE_URL);
        url.pathname = '/icegate_no_such_database';
        return url.toString();
      })(),
      ICEGATE_TEST_SETUP: 'check',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Redis at redis://127.0.0.1:1 (TEST_REDIS_URL) does not answer');
    expect(r.stderr).toContain('redis-server --daemonize yes');
    expect(r.stderr).toContain('database "icegate_no_such_database" does not exist');
    expect(r.stderr).toContain('CREATE DATABASE test');
  });

  it('is bypassed by ICEGATE_TEST_SETUP=skip', () => {
    const r = runSetup({ PATH: '/nonexistent', ICEGATE_TEST_SETUP: 'skip' });
    expect(r.status).toBe(0);
  });
});
