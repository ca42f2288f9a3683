// Calls between two libnice agents through a TURN server (test/helpers/libnice-call.py, run by the
// system python, which has python3-gi and gir1.2-nice-0.1), credentials from POST /v1/ice-servers,
// and a reading of which TURN requests each client sent when.
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { fileURLToPath } from 'node:url';
import { Method } from '../../src/stun/index.js';
import type { AnsweredRequest } from './test-host.js';

const SCRIPT = fileURLToPath(new URL('./libnice-call.py', import.meta.url));
/** Debian's python: the pyenv shim on PATH lacks python3-gi. */
const PYTHON = '/usr/bin/python3';

export type RelayTransport = 'udp' | 'tcp' | 'tls';

/** One direction of a call. */
export interface Direction {
  sent: number;
  received: number;
  lost: number;
  firstLost: number[];
  duplicates: number;
  outOfOrder: number;
  /** Longest silence between two arrivals, ms. */
  maxGapMs: number;
}

/** A candidate as libnice describes it. */
export interface NiceCandidate {
  type: string;
  transport: string;
  address: string | null;
  port: number;
}

/** What libnice-call.py reports. */
export interface LibniceResult {
  error?: string;
  connectMs: number;
  candidates: { A: NiceCandidate[]; B: NiceCandidate[] };
  selected: { A: { local: NiceCandidate; remote: NiceCandidate } | null; B: unknown };
  aToB: Direction;
  bToA: Direction;
  sendFailures: number;
  /** TLS versions of the forwarder's connections (relay 'tls'). */
  tlsVersions?: string[];
}

/** The TURN part of a POST /v1/ice-servers answer. */
export interface TurnServerEntry {
  urls: string[];
  username: string;
  credential: string;
}

/** Asks the gate for ICE servers and returns its TURN entry. */
export async function iceServers(gateUrl: string, token: string): Promise<TurnServerEntry> {
  const response = await fetch(`${gateUrl}/v1/ice-servers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  if (!response.ok) throw new Error(`ice-servers answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { iceServers: Partial<TurnServerEntry>[] };
  const turn = body.iceServers.find((s) => s.username !== undefined);
  if (turn?.urls === undefined || turn.credential === undefined || turn.username === undefined) {
    throw new Error(`no TURN entry in ${JSON.stringify(body)}`);
  }
  return { urls: turn.urls, username: turn.username, credential: turn.credential };
}

/** Host name and port of the entry's URL for `transport` (turns: for TLS). */
export function turnUrlFor(
  entry: TurnServerEntry,
  transport: RelayTransport,
): { host: string; port: number } {
  const url = entry.urls.find((u) =>
    transport === 'tls'
      ? u.startsWith('turns:')
      : u.startsWith('turn:') && u.endsWith(`transport=${transport}`),
  );
  const match = url === undefined ? null : /^turns?:([^:?]+|\[[^\]]+\]):(\d+)/.exec(url);
  if (match === null) throw new Error(`no ${transport} URL in ${JSON.stringify(entry.urls)}`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

/** Options of one call. */
export interface LibniceCall {
  entry: TurnServerEntry;
  transport: RelayTransport;
  /** How long both sides send, seconds. */
  seconds: number;
  /** Pace of each direction, ms (default 20: 50 messages a second each way). */
  intervalMs?: number;
  /** The CA file a TLS client verifies the server with (the test certificate). */
  tlsCa?: string;
  connectTimeoutS?: number;
}

/** Runs one call; resolves with the script's result, rejects with its output when it has none. */
export async function runLibniceCall(call: LibniceCall): Promise<LibniceResult> {
  const { host, port } = turnUrlFor(call.entry, call.transport);
  // libnice takes the TURN server as an IP address only; the TLS URL names localhost.
  const server = (await lookup(host, { family: 4 })).address;
  const options = {
    server,
    port,
    username: call.entry.username,
    password: call.entry.credential,
    relay: call.transport,
    seconds: call.seconds,
    intervalMs: call.intervalMs ?? 20,
    connectTimeoutS: call.connectTimeoutS ?? 15,
    tlsCa: call.tlsCa,
    tlsName: host,
  };
  const limitMs = ((call.connectTimeoutS ?? 15) + call.seconds + 15) * 1000;
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 200_000) stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      try {
        const result = JSON.parse(line) as LibniceResult;
        if (result.error !== undefined) {
          reject(new Error(`libnice call failed: ${line}\n${stderr.slice(-3000)}`));
        } else {
          resolve(result);
        }
      } catch {
        reject(new Error(`libnice call exited ${code} without a result:\n${stdout}\n${stderr.slice(-3000)}`));
      }
    });
  });
}

const METHOD_NAMES: Record<number, string> = {
  [Method.Binding]: 'Binding',
  [Method.Allocate]: 'Allocate',
  [Method.Refresh]: 'Refresh',
  [Method.CreatePermission]: 'CreatePermission',
  [Method.ChannelBind]: 'ChannelBind',
};

/**
 * Per client, per TURN method, the seconds (from `start`) of each successful request: what each
 * client refreshes and when. Error answers (401 before authenticating, 438 stale nonce) are left
 * out: the retried request that follows is the one that counts.
 */
export function requestTimeline(
  answered: readonly AnsweredRequest[],
  start: number,
): Record<string, Record<string, number[]>> {
  const timeline: Record<string, Record<string, number[]>> = {};
  for (const a of answered) {
    if (a.at < start || a.code !== 200) continue;
    const name = METHOD_NAMES[a.method] ?? `0x${a.method.toString(16)}`;
    const client = timeline[a.client] ?? {};
    timeline[a.client] = client;
    const times = client[name] ?? [];
    client[name] = times;
    times.push(Math.round((a.at - start) / 100) / 10);
  }
  return timeline;
}
