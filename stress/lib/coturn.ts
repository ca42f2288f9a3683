// coturn 4.6.1 (Debian's `turnserver`) on loopback, for side-by-side figures. Hardened the way an
// operator following coturn's own advice would: loopback peers left denied (its default), no
// multicast peers, and denied-peer-ip for the special-purpose IPv4 ranges, ::1, fc00::/7 and fe80::/10.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The denied-peer-ip ranges given to coturn (coturn's range syntax). */
export const COTURN_DENIED_PEER_RANGES: readonly string[] = [
  '0.0.0.0-0.255.255.255',
  '10.0.0.0-10.255.255.255',
  '100.64.0.0-100.127.255.255',
  '127.0.0.0-127.255.255.255',
  '169.254.0.0-169.254.255.255',
  '172.16.0.0-172.31.255.255',
  '192.0.0.0-192.0.0.255',
  '192.168.0.0-192.168.255.255',
  '198.18.0.0-198.19.255.255',
  '240.0.0.0-255.255.255.255',
  '::1',
  'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
];

/** Options of startCoturn. */
export interface CoturnOptions {
  port: number;
  minPort: number;
  maxPort: number;
  secret: string;
  realm?: string;
  /** Extra command-line flags. */
  extra?: string[];
}

/** A running coturn. */
export interface Coturn {
  port: number;
  /** The exact command line, for the report. */
  args: string[];
  output(): string;
  close(): Promise<void>;
}

/** Starts coturn listening and relaying on 127.0.0.1 and ::1; resolves once it listens. */
export async function startCoturn(options: CoturnOptions): Promise<Coturn> {
  const dir = await mkdtemp(join(tmpdir(), 'icegate-coturn-'));
  const args = [
    '-n',
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    '--simple-log',
    '--log-file=stdout',
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    '--listening-ip=127.0.0.1',
    '--listening-ip=::1',
    `--listening-port=${options.port}`,
    '--relay-ip=127.0.0.1',
    '--relay-ip=::1',
    `--min-port=${options.minPort}`,
    `--max-port=${options.maxPort}`,
    '--use-auth-secret',
    `--static-auth-secret=${options.secret}`,
    `--realm=${options.realm ?? 'icegate'}`,
    '--no-multicast-peers',
    ...COTURN_DENIED_PEER_RANGES.map((range) => `--denied-peer-ip=${range}`),
    ...(options.extra ?? []),
  ];
  const child: ChildProcess = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    if (output.length < 2_000_000) output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const started = Date.now();
  while (!/Total General servers/.test(output)) {
    if (child.exitCode !== null) throw new Error(`turnserver exited:\n${output.slice(-2000)}`);
    if (Date.now() - started > 10_000) {
      child.kill('SIGKILL');
      throw new Error(`turnserver did not start:\n${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Its listener threads start right after the banner.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return {
    port: options.port,
    args: ['turnserver', ...args],
    output: () => output,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
