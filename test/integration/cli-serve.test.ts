// The CLI against a real running node (issue 20, points 4 and 5): `icegate serve` is the node
// `npm start` runs; `icegate --version` prints package.json's version; `license issue --key-only`
// prints the key alone, and a second issue names the reissue command with no stack trace; a key
// revoked by the CLI in embedded mode (no Redis, shared DATA_DIR) is refused by the running node
// within about a second and the allocation its credential opened is closed, and the command says
// how the node was told.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Method } from '../../src/stun/index.js';
import { PORTS } from '../helpers/ports.js';
import { TurnClient } from '../helpers/turn-client.js';
import { eventually, LineCapture } from './drain-harness.js';
import { tenantToken } from './http-harness.js';
import { type ChildBuild, compileForChild } from './store-child-build.js';

const TURN_PORT = PORTS.cliServe.peer + 1;
const HTTP_PORT = PORTS.cliServe.peer + 2;
const HTTP = `http://127.0.0.1:${HTTP_PORT}`;

let build: ChildBuild;
let dataDir: string;
let node: ChildProcess | undefined;
const output = new LineCapture();
let exited: Promise<number | null>;

function env(): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    DATA_DIR: dataDir,
    TURN_LISTEN_IP: '127.0.0.1',
    TURN_PORT: String(TURN_PORT),
    TURN_MIN_PORT: String(PORTS.cliServe.relayMin),
    TURN_MAX_PORT: String(PORTS.cliServe.relayMax),
    TURN_ALLOW_LOOPBACK_PEERS: 'true',
    HTTP_PORT: String(HTTP_PORT),
    HTTP_LISTEN_IP: '127.0.0.1',
    METRICS_PORT: String(PORTS.cliServe.peer + 3),
    METRICS_LISTEN_IP: '127.0.0.1',
    DRAIN_TIMEOUT_SECONDS: '0',
  };
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Result> {
  return promisify(execFile)(process.execPath, [build.script, ...args], { env: env(), timeout: 30_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

async function iceServers(token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${HTTP}/v1/ice-servers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  build = await compileForChild('src/cli/main.ts');
  dataDir = await mkdtemp(join(tmpdir(), 'icegate-cli-serve-'));
  node = spawn(process.execPath, ['--no-memory-reducer', '--no-opt', '--no-maglev', build.script, 'serve'], {
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  node.stdout!.pipe(output.stream);
  node.stderr!.pipe(output.stream);
  exited = new Promise((resolve) => node!.once('exit', (code) => resolve(code)));
  await eventually(
    async () => (await fetch(`${HTTP}/readyz`).catch(() => null))?.status === 200,
    20_000,
    `icegate serve ready\n${output.text}`,
  );
}, 180_000);

afterAll(async () => {
  node?.kill('SIGKILL');
  if (build !== undefined) await rm(build.dir, { recursive: true, force: true });
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe('icegate serve and the CLI beside it', () => {
  it('serve starts the node as npm start does (first-start secrets, readiness); --version', async () => {
    expect(output.text).toContain('icegate first start (embedded mode)');
    expect(output.json().some((l) => l['message'] === 'icegate started')).toBe(true);
    // Started with --no-opt as npm start starts it: readiness probes leave TurboFan off; it goes on
    // once start-up has settled (no other request or allocation came first here).
    await eventually(
      () => output.json().some((l) => l['message'] === 'optimizing compiler on'),
      15_000,
      `TurboFan turned on\n${output.text}`,
    );
    expect(output.json().filter((l) => l['message'] === 'optimizing compiler on')).toEqual([
      expect.objectContaining({ after: 'start-up settled' }),
    ]);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      version: string;
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['start']).toBe(
      'node --no-memory-reducer --max-semi-space-size=2 --no-opt --no-maglev dist/src/cli/main.js serve',
    );
    const version = await cli(['--version']);
    expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('issues a key with --key-only, names the recovery on a second issue, and a CLI revoke reaches the node within a second', async () => {
    expect((await cli(['import', 'examples/acme-orders.json'])).code).toBe(0);
    const issued = await cli(['license', 'issue', 'acme', '--server', 'neo.example.local', '--key-only']);
    expect(issued.code).toBe(0);
    expect(issued.stdout).toMatch(/^lk_[a-z2-7]{20}\.[A-Za-z0-9_-]+\n$/);
    const key = issued.stdout.trim();
    const keyId = key.slice(0, key.indexOf('.'));

    const again = await cli(['license', 'issue', 'acme', '--server', 'neo.example.local']);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain(`tenant acme already has an active license key ${keyId}`);
    expect(again.stderr).toContain('run: icegate license reissue acme --server neo.example.local');
    expect(again.stderr).not.toMatch(/^\s+at /m);

    const granted = await iceServers(tenantToken(key, Date.now()));
    expect(granted.status).toBe(200);
    const turn = (granted.body['iceServers'] as { username?: string; credential?: string }[]).find(
      (s) => s.username !== undefined,
    )!;
    const client = await TurnClient.open({
      address: '127.0.0.1',
      port: TURN_PORT,
      username: turn.username!,
      password: turn.credential!,
    });
    try {
      expect((await client.allocate()).code).toBe(200);

      const revoked = await cli(['license', 'revoke', keyId]);
      const revokedAt = Date.now();
      expect(revoked.code).toBe(0);
      expect(JSON.parse(revoked.stdout)).toMatchObject({ keyId, tenant: 'acme', alreadyRevoked: false });
      expect(revoked.stderr).toContain(
        `a running node using DATA_DIR=${dataDir} (without Redis) applies this within a second`,
      );
      // Without the notice the node trusts its cached key for up to a minute.
      await eventually(
        async () => (await iceServers(tenantToken(key, Date.now()))).body['error'] === 'license_revoked',
        2_000,
        'the running node refusing the revoked key',
      );
      const refusedAfterMs = Date.now() - revokedAt;
      // The allocation opened with the revoked key's credential is gone: its Refresh is refused.
      await eventually(
        async () => (await client.request(Method.Refresh)).code === 437,
        2_000,
        'allocation closed',
      );
      expect(refusedAfterMs).toBeLessThan(2_000);
      expect(
        output.json().some((l) => l['message'] === 'tenant change from the CLI' && l['keyId'] === keyId),
      ).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('serve drains and exits 0 on SIGTERM', async () => {
    node!.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
