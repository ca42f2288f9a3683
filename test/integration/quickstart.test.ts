// scripts/quickstart.sh, the quick start as one script (issue 20, point 3): with one port variable
// it starts icegate, issues a key (a reissue on the second run), signs a tenant JWT with openssl
// (examples/client-kit/server/sign-tenant-jwt.sh), fetches ICE servers and relays 50 messages
// through icegate with coturn's client, losing none; run twice on the same DATA_DIR. Then the
// check-page link it prints, opened in headless Chromium against the node it keeps running (as
// `npm start` runs, no TLS): UDP and TCP work with round trips. UPDATE_CHECK_PAGE_SCREENSHOT=1
// rewrites docs/check-page.png (the README's picture) from that page.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { PORTS } from '../helpers/ports.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'icegate-quickstart-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function quickstartEnv(keepRunning: boolean): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    PORT: String(PORTS.quickstart.peer + 1),
    KEEP_RUNNING: keepRunning ? '1' : '0',
    DATA_DIR: dataDir,
    TURN_MIN_PORT: String(PORTS.quickstart.relayMin),
    TURN_MAX_PORT: String(PORTS.quickstart.relayMax),
  };
}

async function quickstart(): Promise<string> {
  const { stdout } = await promisify(execFile)('scripts/quickstart.sh', [], {
    env: quickstartEnv(false),
    timeout: 60_000,
  });
  return stdout;
}

describe('scripts/quickstart.sh', () => {
  it('relays through icegate on the ports it is given, and again on a second run (reissue)', async () => {
    const http = `http://127.0.0.1:${PORTS.quickstart.peer + 2}`;
    for (const run of [1, 2]) {
      const out = await quickstart();
      if (run === 1) expect(out).toContain('icegate first start (embedded mode)');
      expect(out).toContain(`"urls":["stun:127.0.0.1:${PORTS.quickstart.peer + 1}"]`);
      expect(out).toMatch(/Total lost packets 0 \(0\.0+%\)/);
      expect(out).toContain(`Check page: ${http}/check?rtt=1#token=`);
    }
  }, 120_000);
});

describe("the quick start's check-page link", () => {
  it('shows UDP and TCP working with round trips on the node the script keeps running (no TLS)', async () => {
    const script = spawn('scripts/quickstart.sh', [], {
      env: quickstartEnv(true),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(script, 'exit');
    const browser = await launchChromium();
    try {
      let out = '';
      const link = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no check-page link in 60 s:\n${out}`)), 60_000);
        script.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const found = /Check page: (\S+)/.exec(out);
          if (found?.[1] !== undefined) {
            clearTimeout(timer);
            resolve(found[1]);
          }
        });
        script.once('exit', (code) => reject(new Error(`quickstart.sh exited ${code}:\n${out}`)));
      });
      const http = `http://127.0.0.1:${PORTS.quickstart.peer + 2}`;
      expect(link.startsWith(`${http}/check?rtt=1#token=`)).toBe(true);
      const page = await browser.newPage({ viewport: { width: 1000, height: 760 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(link);
      await page.waitForSelector('#report[data-state="done"]', { timeout: 20_000 });
      expect(await page.isChecked('#rtt')).toBe(true);
      const rows = await page.$$eval('#results tbody tr', (trs) =>
        trs.map((tr) => ({
          transport: tr.getAttribute('data-transport'),
          status: tr.getAttribute('data-status'),
          allocation: tr.querySelector('.allocation')?.textContent ?? '',
          rtt: tr.querySelector('.rtt')?.textContent ?? '',
          server: tr.querySelector('.server')?.textContent ?? '',
        })),
      );
      const turn = `127.0.0.1:${PORTS.quickstart.peer + 1}`;
      expect(rows.map((r) => [r.transport, r.status, r.server])).toEqual([
        ['udp', 'ok', turn],
        ['tcp', 'ok', turn],
      ]);
      for (const r of rows) {
        expect(r.allocation).toMatch(/^\d+ ms$/);
        expect(r.rtt).toMatch(/^\d+ ms$/);
      }
      expect(await page.textContent('#status')).toBe('Done: 2 of 2 transports work from this network.');
      expect(await page.getAttribute('#advice', 'class')).toBe('ok');
      expect(page.url()).toBe(`${http}/check?rtt=1`);
      expect(errors).toEqual([]);
      if (process.env['UPDATE_CHECK_PAGE_SCREENSHOT'] === '1') {
        await mkdir('docs', { recursive: true });
        await page.screenshot({ path: 'docs/check-page.png', fullPage: true });
      }
      await page.close();
    } finally {
      await browser.close();
      // The script's EXIT trap stops icegate (SIGINT) and the echo peer.
      if (script.exitCode === null) script.kill('SIGTERM');
      await exited;
    }
  }, 120_000);
});
