// Before authentication (issue 7): a flood of unauthenticated Allocates from many source ports
// must cost no memory and no timer per request, and 401s (and every other answer to a source that
// has not proved its address) to one source must be rate-limited so a spoofed flood cannot use
// the server as an amplifier. The flood runs in a child process (flood-sender.mjs).
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { PortBlock } from '../../test/helpers/ports.js';
import { startCoturn } from './coturn.js';
import { activeOf, type ResourceSnapshot, round, snapshot } from './resources.js';
import { startSecurityHost } from './security-host.js';

/** What the sender reports. */
export interface FloodReport {
  /** Requests sent (bytes towards the server). */
  sent: number;
  bytesOut: number;
  /** Answers received (bytes from the server). */
  received: number;
  bytesIn: number;
  seconds: number;
}

/** Options of one flood. */
export interface FloodOptions {
  host: string;
  port: number;
  sockets: number;
  total: number;
  method: 'allocate' | 'binding';
  window?: number;
  ratePerSecond?: number;
}

/** Runs flood-sender.mjs and returns its report. */
export function flood(options: FloodOptions): Promise<FloodReport> {
  return new Promise((resolve, reject) => {
    const child = fork(join(import.meta.dirname, 'flood-sender.mjs'), [JSON.stringify(options)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    });
    let report: FloodReport | null = null;
    child.on('message', (message) => {
      report = message as FloodReport;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (report !== null) resolve(report);
      else reject(new Error(`flood sender exited with ${code} and no report`));
    });
  });
}

/** Figures of the unauthenticated-Allocate flood. */
export interface PreauthFloodResult {
  requests: number;
  sockets: number;
  answered: number;
  seconds: number;
  before: ResourceSnapshot;
  after: ResourceSnapshot;
  rssGrowthMb: number;
  heapGrowthMb: number;
  /** Most Timeout resources seen during the flood, minus those before it. */
  extraTimersPeak: number;
  allocationsAfter: number;
  fdsBefore: number;
  fdsAfter: number;
}

/**
 * 200,000 unauthenticated Allocates (by default) from 200 source ports, with the reflection guard
 * off so every one is answered with a 401 (the most work per request): RSS, heap, timers and fds
 * before and after.
 */
export async function preauthFlood(options: {
  ports: PortBlock;
  requests: number;
  sockets: number;
}): Promise<PreauthFloodResult> {
  const host = await startSecurityHost({
    relayMin: options.ports.relayMin,
    relayMax: options.ports.relayMax,
    limits: { unauthenticatedRate: Number.POSITIVE_INFINITY },
    tickMs: 1000,
  });
  try {
    const where = host.address('udp');
    // Warm up the code paths (JIT, buffers) before the baseline.
    await flood({ host: where.address, port: where.port, sockets: 10, total: 2000, method: 'allocate' });
    const before = await snapshot();
    let peak = 0;
    const sampler = setInterval(() => {
      const timers = process.getActiveResourcesInfo().filter((t) => t === 'Timeout').length;
      peak = Math.max(peak, timers);
    }, 20);
    const baseTimers = activeOf(before, 'Timeout') + 1; // the sampler itself
    let report: FloodReport;
    try {
      report = await flood({
        host: where.address,
        port: where.port,
        sockets: options.sockets,
        total: options.requests,
        method: 'allocate',
        window: 1000,
      });
    } finally {
      clearInterval(sampler);
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = await snapshot();
    return {
      requests: report.sent,
      sockets: options.sockets,
      answered: report.received,
      seconds: round(report.seconds),
      before,
      after,
      rssGrowthMb: round(after.rssMb - before.rssMb),
      heapGrowthMb: round(after.heapUsedMb - before.heapUsedMb),
      extraTimersPeak: Math.max(0, peak - baseTimers),
      allocationsAfter: host.host.core.allocationCount,
      fdsBefore: before.openFds,
      fdsAfter: after.openFds,
    };
  } finally {
    await host.close();
  }
}

/** Figures of one reflection measurement. */
export interface ReflectionResult {
  server: string;
  method: 'allocate' | 'binding';
  requests: number;
  answered: number;
  requestBytes: number;
  answerBytes: number;
  /** Bytes out per byte in over the whole flood. */
  ratio: number;
  /** Bytes out per byte in once the burst allowance is spent. */
  ratioAfterBurst: number;
  /** Size of one answer, bytes. */
  answerSize: number;
  seconds: number;
}

function reflectionOf(
  server: string,
  method: 'allocate' | 'binding',
  report: FloodReport,
  burst: number,
): ReflectionResult {
  const answerSize = report.received > 0 ? Math.round(report.bytesIn / report.received) : 0;
  const requestSize = report.sent > 0 ? report.bytesOut / report.sent : 20;
  // The flood outpaces the refill, so the burst is spent on the first `burst` requests.
  const laterAnswers = Math.max(0, report.received - burst);
  const laterRequests = Math.max(1, report.sent - burst);
  return {
    server,
    method,
    requests: report.sent,
    answered: report.received,
    requestBytes: report.bytesOut,
    answerBytes: report.bytesIn,
    ratio: Math.round((report.bytesIn / report.bytesOut) * 1000) / 1000,
    ratioAfterBurst: Math.round(((laterAnswers * answerSize) / (laterRequests * requestSize)) * 1000) / 1000,
    answerSize,
    seconds: round(report.seconds),
  };
}

/**
 * One source floods unauthenticated Allocates and Bindings (bare 20-byte headers, the best an
 * amplifier can hope for) at `ratePerSecond` for `requests` each, against icegate with its
 * default guard and, optionally, coturn.
 */
export async function reflection(options: {
  ports: PortBlock;
  requests: number;
  ratePerSecond: number;
  coturnPort?: number;
}): Promise<ReflectionResult[]> {
  const results: ReflectionResult[] = [];
  const host = await startSecurityHost({
    relayMin: options.ports.relayMin,
    relayMax: options.ports.relayMax,
  });
  const burst = host.host.core.limits.unauthenticatedBurst;
  try {
    const where = host.address('udp');
    for (const method of ['allocate', 'binding'] as const) {
      // A fresh source port each time; the guard is per IP, so wait for the bucket to refill.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.ceil((burst / host.host.core.limits.unauthenticatedRate) * 1000) + 200),
      );
      const report = await flood({
        host: where.address,
        port: where.port,
        sockets: 1,
        total: options.requests,
        method,
        ratePerSecond: options.ratePerSecond,
      });
      results.push(reflectionOf('icegate', method, report, burst));
    }
  } finally {
    await host.close();
  }
  if (options.coturnPort !== undefined) {
    const server = await startCoturn({
      port: options.coturnPort,
      minPort: options.coturnPort + 100,
      maxPort: options.coturnPort + 199,
      secret: 'coturn-reflection-secret',
    });
    try {
      for (const method of ['allocate', 'binding'] as const) {
        const report = await flood({
          host: '127.0.0.1',
          port: options.coturnPort,
          sockets: 1,
          total: options.requests,
          method,
          ratePerSecond: options.ratePerSecond,
        });
        results.push(reflectionOf('coturn 4.6.1', method, report, 0));
      }
    } finally {
      await server.close();
    }
  }
  return results;
}
