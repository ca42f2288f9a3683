// One run of the load generator, coturn's turnutils_uclient, against a TURN server on 127.0.0.1,
// echoing through turnutils_peer. The flags are the ones TESTING.md lists.
import { startChild } from './child-processes.mjs';
import { cpuSeconds } from './proc-stats.mjs';
import { parseUclient } from './uclient-output.mjs';

/**
 * The uclient argument list for an offered load. `auth` is either {secret, tenant} (TURN REST,
 * `-W`) or {username, password} (long-term, `-u -w`); `transport` 'udp', 'tcp' or 'tls'.
 */
export function uclientArgs({ port, peerPort, load, auth, sendIndications = false, transport = 'udp' }) {
  const args =
    auth.secret !== undefined
      ? ['-W', auth.secret, '-u', auth.tenant]
      : ['-u', auth.username, '-w', auth.password];
  args.push('-e', '127.0.0.1', '-r', String(peerPort), '-X', '-c');
  if (sendIndications) args.push('-s');
  // TCP to the server (`-t`); TLS over TCP (`-t -S`: `-S` alone would be DTLS).
  if (transport === 'tcp') args.push('-t');
  if (transport === 'tls') args.push('-t', '-S');
  args.push('-m', String(load.clients), '-n', String(load.messages), '-l', String(load.length));
  args.push('-z', String(load.intervalMs), '-p', String(port), '127.0.0.1');
  return args;
}

/** Runs uclient to completion (or `timeoutMs`) and returns its parsed figures. */
export async function runUclient(options, timeoutMs = 90_000) {
  const stamped = [];
  const args = ['-oL', '-eL', 'turnutils_uclient', ...uclientArgs(options)];
  const child = startChild('turnutils_uclient', 'stdbuf', args, {
    timeoutMs,
    keepLines: 50,
    onLine: (line, t) => stamped.push({ line, t }),
  });
  // The generator's own CPU time, sampled while it runs (it is gone once it exits): whether a
  // saturating load was limited by the generator rather than by the server.
  let generatorCpu = null;
  const sampler = setInterval(() => {
    const value = cpuSeconds(child.pid);
    if (value !== null) generatorCpu = value;
  }, 250);
  const exit = await child.exited;
  clearInterval(sampler);
  const figures = parseUclient(stamped);
  return {
    ...figures,
    generatorCpuSeconds: generatorCpu,
    exitCode: exit.code,
    timedOut: child.timedOut,
    args: args.slice(3),
    lastLines: figures.sent === null ? child.lines.slice(-8) : undefined,
  };
}
