// Runs coturn's turnutils_uclient against a server and reads its summary (TESTING.md).
import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import type { TestHost } from './test-host.js';
import type { TlsRecordTap } from './tls-record-tap.js';

/** Options of one uclient run. */
export interface UclientRun {
  /** TURN REST secret (-W); the user is 'acme'. */
  secret: string;
  /** Server port (-p) and address. */
  port: number;
  server?: string;
  /** The echo peer (-e, -r). */
  peer?: string;
  peerPort: number;
  /** Transport and relay flags, e.g. ['-t', '-S', '-c', '-X']. */
  flags: string[];
  /** Clients (-m, default 10) and messages each (-n, default 200). */
  clients?: number;
  messages?: number;
  timeoutMs?: number;
}

/** Exit code and everything it printed. */
export interface UclientResult {
  code: number | null;
  output: string;
}

/** Runs turnutils_uclient with paced 160-byte messages every 20 ms. */
export function runUclient(run: UclientRun): Promise<UclientResult> {
  const args = [
    ...['-W', run.secret, '-u', 'acme', '-e', run.peer ?? '127.0.0.1', '-r', String(run.peerPort)],
    ...['-m', String(run.clients ?? 10), '-n', String(run.messages ?? 200), '-l', '160', '-z', '20'],
    ...run.flags,
    ...['-p', String(run.port), run.server ?? '127.0.0.1'],
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
    const timer = setTimeout(() => child.kill('SIGKILL'), run.timeoutMs ?? 40_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The numbers of uclient's summary lines; throws with the output's tail when there is none. */
export function uclientSummary(output: string): { lost: number; sent: number; received: number } {
  const lost = /Total lost packets (\d+)/.exec(output);
  const sent = [...output.matchAll(/tot_send_msgs=(\d+)/g)].at(-1);
  const received = [...output.matchAll(/tot_recv_msgs=(\d+)/g)].at(-1);
  if (!lost || !sent || !received) throw new Error(`no summary in uclient output:\n${output.slice(-3000)}`);
  return { lost: Number(lost[1]), sent: Number(sent[1]), received: Number(received[1]) };
}

/** uclient's ChannelData frames in the tests: 4-byte header and a 160-byte payload (-l 160). */
export const UCLIENT_FRAME_BYTES = 164;

/**
 * What a uclient run over TLS through `tap` proves (docs/tls-records.md): icegate handed every
 * echo to the client's connection and dropped none of them, and every message uclient counted as
 * lost is one it never read because it shared a TLS record with the frame before it.
 */
export function expectTlsUclientDelivery(
  host: TestHost,
  numbers: { lost: number; received: number },
  tap: TlsRecordTap,
  echoes: number,
): void {
  const allocations = host.record.created.filter((a) => a.tuple.transport === 'tls');
  const relayed = allocations.reduce((sum, a) => sum + a.traffic.toClientPackets, 0);
  expect(relayed).toBe(echoes);
  expect(host.tls!.stats.droppedToClient).toBe(0);
  const shared = tap.framesSharingRecord(UCLIENT_FRAME_BYTES);
  expect(numbers.lost).toBeLessThanOrEqual(shared);
  expect(numbers.received + shared).toBeGreaterThanOrEqual(echoes);
}
