// Shared pieces of the graceful-drain tests (issue 6): a node's environment on fixed loopback
// ports, a tenant provisioned through the public HTTP API (admin JWT -> orders -> license key ->
// tenant JWT -> POST /v1/ice-servers), coturn's echo peer and a paced turnutils_uclient with the
// minted long-term credential, log capture, and the secrets a log must never show.
import { type ChildProcess, spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { adminToken, tenantToken } from './http-harness.js';

/** The TURN secret and admin secret of drain-test nodes (grepped for in their logs). */
export const DRAIN_TURN_SECRET = 'drain-turn-secret-6b1f0c2e9a7d4538';
export const DRAIN_ADMIN_SECRET = 'drain-admin-secret-58c3e1a07b9d4f26a1e3';

/** Loopback ports of one node. */
export interface DrainPorts {
  turn: number;
  http: number;
  /** The metrics listener (METRICS_PORT): /metrics is not served on the HTTP port. */
  metrics: number;
  peer: number;
  relayMin: number;
  relayMax: number;
}

/** The environment of a test node (embedded mode: file store in `dataDir`). */
export function drainEnv(ports: DrainPorts, dataDir: string): Record<string, string> {
  return {
    TURN_LISTEN_IP: '127.0.0.1',
    TURN_PORT: String(ports.turn),
    TURN_MIN_PORT: String(ports.relayMin),
    TURN_MAX_PORT: String(ports.relayMax),
    TURN_ALLOW_LOOPBACK_PEERS: 'true',
    TURN_SECRETS: DRAIN_TURN_SECRET,
    ADMIN_TOKEN_SECRET: DRAIN_ADMIN_SECRET,
    HTTP_PORT: String(ports.http),
    HTTP_LISTEN_IP: '127.0.0.1',
    METRICS_PORT: String(ports.metrics),
    METRICS_LISTEN_IP: '127.0.0.1',
    DATA_DIR: dataDir,
    DRAIN_TIMEOUT_SECONDS: '60',
    LOG_LEVEL: 'debug',
  };
}

/** Everything secret a provisioned tenant involved; none of it may appear in a log. */
export interface TenantSecrets {
  adminJwt: string;
  licenseKey: string;
  tenantJwt: string;
  username: string;
  credential: string;
}

/** Imports an active order for `tenant`, issues its key and gets ICE servers, all over HTTP. */
export async function provisionTenant(httpUrl: string, tenant: string): Promise<TenantSecrets> {
  const adminJwt = adminToken(DRAIN_ADMIN_SECRET, Date.now(), { scope: 'admin', sub: 'drain-test' });
  const admin = { authorization: `Bearer ${adminJwt}`, 'content-type': 'application/json' };
  // Received yesterday: support runs from yesterday for about a year (DOMAIN.md, initial order).
  const receivedAt = new Date(Date.now() - 86_400_000).toISOString();
  const orders = await fetch(`${httpUrl}/v1/admin/orders`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({
      tenant,
      orders: [{ id: `${tenant}-1`, kind: 'initial', receivedAt, licenses: 50 }],
    }),
  });
  if (orders.status !== 200) throw new Error(`order import: ${orders.status} ${await orders.text()}`);
  const issued = await fetch(`${httpUrl}/v1/admin/tenants/${tenant}/license-keys`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ server: `neo.${tenant}.example.jp` }),
  });
  if (issued.status !== 201) throw new Error(`key issue: ${issued.status} ${await issued.text()}`);
  const { key: licenseKey } = (await issued.json()) as { key: string };
  const tenantJwt = tenantToken(licenseKey, Date.now(), { sub: 'user-42' });
  const ice = await fetch(`${httpUrl}/v1/ice-servers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenantJwt}` },
  });
  if (ice.status !== 200) throw new Error(`ice-servers: ${ice.status} ${await ice.text()}`);
  const body = (await ice.json()) as {
    iceServers: { urls: string[]; username?: string; credential?: string }[];
  };
  const turn = body.iceServers.find((s) => s.username !== undefined);
  if (turn?.username === undefined || turn.credential === undefined)
    throw new Error('no TURN server in answer');
  return { adminJwt, licenseKey, tenantJwt, username: turn.username, credential: turn.credential };
}

/** The texts that must never be logged: secrets, tokens, keys, credentials (and key secret alone). */
export function forbiddenInLogs(secrets: TenantSecrets): string[] {
  const keySecret = secrets.licenseKey.slice(secrets.licenseKey.indexOf('.') + 1);
  return [
    DRAIN_TURN_SECRET,
    DRAIN_ADMIN_SECRET,
    secrets.adminJwt,
    secrets.licenseKey,
    keySecret,
    secrets.tenantJwt,
    // A JWT's signature alone would leak it too.
    secrets.tenantJwt.split('.')[2]!,
    secrets.adminJwt.split('.')[2]!,
    secrets.credential,
  ];
}

/** coturn's UDP echo peer on 127.0.0.1:`port`. */
export async function startPeer(port: number): Promise<ChildProcess> {
  const peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  return peer;
}

/** A running turnutils_uclient. */
export interface Uclient {
  child: ChildProcess;
  done: Promise<{ code: number | null; output: string }>;
}

/** turnutils_uclient with a long-term credential: `clients` allocations, channels, paced 160-byte messages every 20 ms. */
export function startUclient(options: {
  port: number;
  peerPort: number;
  username: string;
  credential: string;
  clients: number;
  messages: number;
}): Uclient {
  const args = [
    ...['-u', options.username, '-w', options.credential, '-e', '127.0.0.1', '-r', String(options.peerPort)],
    ...['-m', String(options.clients), '-n', String(options.messages), '-l', '160', '-z', '20', '-c', '-X'],
    ...['-p', String(options.port), '127.0.0.1'],
  ];
  const child = spawn('turnutils_uclient', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise<{ code: number | null; output: string }>((resolve) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
  return { child, done };
}

/** Every line written to a stream (a node's logger, a child's stdout). */
export class LineCapture {
  readonly stream = new PassThrough();
  readonly lines: string[] = [];
  #partial = '';

  constructor() {
    this.stream.on('data', (chunk: Buffer) => this.push(chunk));
  }

  push(chunk: Buffer | string): void {
    const parts = (this.#partial + chunk.toString()).split('\n');
    this.#partial = parts.pop() ?? '';
    for (const line of parts) if (line.length > 0) this.lines.push(line);
  }

  get text(): string {
    return this.lines.join('\n') + this.#partial;
  }

  /** The lines that parse as JSON objects. */
  json(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of this.lines) {
      try {
        const v: unknown = JSON.parse(line);
        if (typeof v === 'object' && v !== null) out.push(v as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
    return out;
  }
}

/** The value of an unlabelled series in a /metrics text (`metricsUrl`: the metrics listener's base URL). */
export async function scrapeMetric(metricsUrl: string, name: string): Promise<number | null> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

/** Polls until `check` holds (every 50 ms), or throws after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The sum of every series of `name` in a /metrics text (all label sets). */
export async function scrapeSum(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The totals of uclient's summary (TESTING.md); throws with the output's tail when there is none. */
export function uclientTotals(output: string): { lost: number; sent: number; received: number } {
  const lost = /Total lost packets (\d+)/.exec(output);
  const sent = [...output.matchAll(/tot_send_msgs=(\d+)/g)].at(-1);
  const received = [...output.matchAll(/tot_recv_msgs=(\d+)/g)].at(-1);
  if (!lost || !sent || !received) throw new Error(`no summary in uclient output:\n${output.slice(-3000)}`);
  return { lost: Number(lost[1]), sent: Number(sent[1]), received: Number(received[1]) };
}
