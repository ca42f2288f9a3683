// scripts/quickstart.sh, the quick start as one script (issue 20, point 3): with one port variable
// it starts icegate, issues a key (a reissue on the second run), signs a tenant JWT with openssl
// (examples/client-kit/server/sign-tenant-jwt.sh), fetches ICE servers and relays 50 messages
// through icegate with coturn's client, losing none; run twice on the same DATA_DIR.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTS } from '../helpers/ports.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'icegate-quickstart-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function quickstart(): Promise<string> {
  const { stdout } = await promisify(execFile)('scripts/quickstart.sh', [], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      PORT: String(PORTS.quickstart.peer + 1),
      KEEP_RUNNING: '0',
      DATA_DIR: dataDir,
      TURN_MIN_PORT: String(PORTS.quickstart.relayMin),
      TURN_MAX_PORT: String(PORTS.quickstart.relayMax),
    },
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
