// Every process the benchmark starts goes through here, so that each one is bounded in time and
// none outlives the run: on normal exit, on an error, on SIGINT/SIGTERM, all are killed by their
// own pid (never by name: the machine is shared).
import { spawn } from 'node:child_process';

const live = new Set();
let hooksInstalled = false;

function killAllNow() {
  for (const entry of live) {
    try {
      process.kill(entry.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping ${live.size} child process(es)\n`);
      killAllNow();
      process.exit(130);
    });
  }
}

/**
 * Starts a child process. Output is kept as the last `keepLines` lines of stdout+stderr (`lines`)
 * and of stdout alone (`stdoutLines`, for output a caller parses), and
 * handed line by line, with the arrival time in ms (performance.now()), to `onLine`.
 * `timeoutMs` kills it (SIGKILL) when it runs longer.
 */
export function startChild(
  name,
  command,
  args,
  { env, cwd, onLine, timeoutMs = 120_000, keepLines = 200, stdin = 'ignore' } = {},
) {
  installHooks();
  const child = spawn(command, args, {
    env: env ?? process.env,
    cwd,
    stdio: [stdin, 'pipe', 'pipe'],
  });
  const lines = [];
  const stdoutLines = [];
  let timedOut = false;
  const handle = {
    name,
    child,
    pid: child.pid,
    /** performance.now() when it was spawned. */
    startedAt: performance.now(),
    lines,
    stdoutLines,
    get timedOut() {
      return timedOut;
    },
    exited: null,
    stop,
  };
  if (child.pid === undefined) {
    handle.exited = Promise.resolve({ code: null, signal: null, error: `cannot start ${command}` });
    return handle;
  }
  const entry = { pid: child.pid, name };
  live.add(entry);
  const feed = (stream, own) => {
    const keep = (line) => {
      lines.push(line);
      if (lines.length > keepLines) lines.shift();
      if (own !== undefined) {
        own.push(line);
        if (own.length > keepLines) own.shift();
      }
    };
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const now = performance.now();
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        keep(line);
        onLine?.(line, now);
      }
    });
    stream.on('end', () => {
      if (rest !== '') {
        keep(rest);
        onLine?.(rest, performance.now());
      }
    });
  };
  feed(child.stdout, stdoutLines);
  feed(child.stderr, undefined);
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, timeoutMs);
  handle.exited = new Promise((resolve) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      live.delete(entry);
      resolve({ code: null, signal: null, error: error.message });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(entry);
      resolve({ code, signal, error: null });
    });
  });

  /** Asks the process to end (SIGTERM by default), then kills it after `graceMs`. */
  async function stop(signal = 'SIGTERM', graceMs = 3000) {
    if (!live.has(entry)) return handle.exited;
    try {
      process.kill(child.pid, signal);
    } catch {
      return handle.exited;
    }
    const killer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    const result = await handle.exited;
    clearTimeout(killer);
    return result;
  }
  return handle;
}

/** Kills every child still running; for the end of the run. */
export function stopAllChildren() {
  killAllNow();
}

/** Resolves after `ms`. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
