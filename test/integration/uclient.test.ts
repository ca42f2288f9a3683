// Conformance against coturn's own test client (issue 2): turnutils_uclient relays through
// icegate to turnutils_peer (an echo peer) in channel mode and in Send-indication mode, with a
// TURN REST secret, paced load, and must lose nothing.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Method } from '../../src/stun/index.js';
import { PORTS } from '../helpers/ports.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const SECRET = 'uclient-secret';
const PEER_PORT = PORTS.uclient.peer;

let relay: TestRelay;
let peer: ChildProcess;

interface UclientResult {
  code: number | null;
  output: string;
}

function runUclient(extra: string[]): Promise<UclientResult> {
  const args = [
    ...['-W', SECRET, '-u', 'acme', '-e', '127.0.0.1', '-r', String(PEER_PORT)],
    ...['-m', '10', '-n', '200', '-l', '160', '-z', '20', '-X'],
    ...extra,
    ...['-p', String(relay.port), '127.0.0.1'],
  ];
  return new Promise((resolve) => {
    const child = spawn('turnutils_uclient', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The numbers of uclient's summary lines. */
function summary(output: string): { lost: number; sent: number; received: number } {
  const lost = /Total lost packets (\d+)/.exec(output);
  const sent = [...output.matchAll(/tot_send_msgs=(\d+)/g)].at(-1);
  const received = [...output.matchAll(/tot_recv_msgs=(\d+)/g)].at(-1);
  if (!lost || !sent || !received) throw new Error(`no summary in uclient output:\n${output.slice(-3000)}`);
  return { lost: Number(lost[1]), sent: Number(sent[1]), received: Number(received[1]) };
}

beforeAll(async () => {
  relay = await startTestRelay({
    secrets: [SECRET],
    relayMin: PORTS.uclient.relayMin,
    relayMax: PORTS.uclient.relayMax,
  });
  peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(PEER_PORT)], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 300));
});

afterAll(async () => {
  peer?.kill('SIGKILL');
  await relay?.close();
});

describe('turnutils_uclient through icegate over UDP', () => {
  it('relays in channel mode with no loss', async () => {
    const result = await runUclient(['-c']);
    const numbers = summary(result.output);
    expect(numbers.lost).toBe(0);
    expect(numbers.sent).toBe(2000);
    expect(numbers.received).toBe(2000);
    expect(relay.record.answered.some((a) => a.method === Method.ChannelBind && a.code === 200)).toBe(true);
  });

  it('relays with Send and Data indications (-s) with no loss', async () => {
    const before = relay.record.answered.length;
    const result = await runUclient(['-c', '-s']);
    const numbers = summary(result.output);
    expect(numbers.lost).toBe(0);
    expect(numbers.sent).toBe(2000);
    expect(numbers.received).toBe(2000);
    const answered = relay.record.answered.slice(before);
    expect(answered.some((a) => a.method === Method.CreatePermission && a.code === 200)).toBe(true);
    expect(answered.some((a) => a.method === Method.ChannelBind)).toBe(false);
  });

  it('gives RTP/RTCP pairs with EVEN-PORT and RESERVATION-TOKEN (no -c) with no loss', async () => {
    const before = relay.record.created.length;
    const result = await runUclient([]);
    const numbers = summary(result.output);
    expect(numbers.lost).toBe(0);
    expect(numbers.received).toBe(2000);
    // RTP allocations ask for an even relay port with the next one reserved (EVEN-PORT with R);
    // RTCP allocations claim that reservation with RESERVATION-TOKEN and get port + 1.
    const ports = new Set(relay.record.created.slice(before).map((a) => a.relay.port));
    const pairs = [...ports].filter((port) => port % 2 === 0 && ports.has(port + 1));
    expect(pairs.length).toBeGreaterThanOrEqual(5);
  });
});
