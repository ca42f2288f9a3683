// DATA_DIR's tenant notice file (issue 20, point 5): what the CLI appends, a node's watcher
// publishes once, in order; it starts at the file's end, waits for a line's end, skips what is
// not a change, and starts over when a writer starts the file afresh.
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendTenantNotices,
  TENANT_NOTICE_FILE,
  TenantNoticeWatcher,
} from '../../../src/entitlement/cache/file-tenant-notices.js';
import type { TenantChange } from '../../../src/entitlement/cache/index.js';
import { silentLogger } from '../../../src/log/logger.js';

let dir: string;
let published: TenantChange[];
let watcher: TenantNoticeWatcher;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icegate-notices-'));
  published = [];
  // A long poll interval: the tests call poll() themselves.
  watcher = new TenantNoticeWatcher({
    dataDir: dir,
    events: { publish: async (c) => void published.push(c) },
    logger: silentLogger,
    pollMs: 60_000,
  });
});
afterEach(async () => {
  await watcher.close();
  await rm(dir, { recursive: true, force: true });
});

const revoked: TenantChange = { tenant: 'acme', kind: 'key_revoked', keyId: 'lk_aaaaaaaaaaaaaaaaaaaa' };
const issued: TenantChange = { tenant: 'acme', kind: 'key_issued', keyId: 'lk_bbbbbbbbbbbbbbbbbbbb' };

describe('the tenant notice file', () => {
  it('publishes appended changes once and in order, never what was there before the start', async () => {
    await appendTenantNotices(dir, [{ tenant: 'old', kind: 'orders' }]);
    await watcher.start();
    await watcher.poll();
    expect(published).toEqual([]);
    await appendTenantNotices(dir, [revoked, issued]);
    await watcher.poll();
    await watcher.poll();
    expect(published).toEqual([revoked, issued]);
  });

  it('starts on a missing file, waits for a whole line, and skips lines that are not changes', async () => {
    await watcher.start();
    const path = join(dir, TENANT_NOTICE_FILE);
    const line = JSON.stringify(revoked);
    await writeFile(path, line.slice(0, 10));
    await watcher.poll();
    expect(published).toEqual([]);
    await appendFile(path, `${line.slice(10)}\nnot json\n{"tenant":"acme","kind":"party"}\n`);
    await watcher.poll();
    expect(published).toEqual([revoked]);
  });

  it('reads a file started afresh (smaller than what was read) from its beginning', async () => {
    await appendTenantNotices(dir, [{ tenant: 'x'.repeat(200), kind: 'orders' }]);
    await watcher.start();
    await writeFile(join(dir, TENANT_NOTICE_FILE), `${JSON.stringify(issued)}\n`);
    await watcher.poll();
    expect(published).toEqual([issued]);
  });
});
