// Runs coturn's turnutils_uclient against a server and reads its summary (TESTING.md).
import { spawn } from 'node:child_process';

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
