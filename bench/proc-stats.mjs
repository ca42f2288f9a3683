// What the kernel says about a server process (proc(5)): CPU time, resident memory, and the
// receive-queue drops of the UDP sockets it owns. Read before and after a load, never during.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

let ticks = null;

/** Clock ticks per second (`getconf CLK_TCK`), the unit of utime/stime in /proc/PID/stat. */
export function clockTicks() {
  if (ticks === null) {
    ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  }
  return ticks;
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc/PID/stat
 * fields 14 and 15; null when the process is gone.
 */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields are counted after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return null;
  }
}

/** CPU seconds split into user and system time (all threads); null when the process is gone. */
export function cpuSplitSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / clockTicks(), sys: Number(fields[12]) / clockTicks() };
  } catch {
    return null;
  }
}

/**
 * Resident memory split as /proc/PID/status gives it (KiB): `anon` is the process's own
 * (heap, stacks, buffers), `file` the mapped files' pages it touched (mostly the executable's
 * code and read-only data, shared with every process running the same binary); null when gone.
 */
export function rssSplitKiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm'))?.[1] ?? Number.NaN);
    return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile'), threads: field('Threads') };
  } catch {
    return null;
  }
}

/**
 * CPU seconds per thread name (comm) of a process, from /proc/PID/task/TID/stat: where a
 * multi-threaded server's time goes (Node: main thread vs GC helpers and libuv workers).
 */
export function cpuSecondsByThread(pid) {
  const byName = {};
  let tids;
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // Node names most of its threads "node": the main thread is told apart by its id.
      const name = tid === String(pid) ? `${comm} (main)` : comm;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / clockTicks();
      byName[name] = (byName[name] ?? 0) + seconds;
    } catch {
      // thread ended meanwhile
    }
  }
  return byName;
}

/** after - before for two cpuSecondsByThread readings, rounded, zero entries left out. */
export function threadCpuDelta(before, after) {
  const delta = {};
  for (const [name, seconds] of Object.entries(after)) {
    const d = Math.round((seconds - (before[name] ?? 0)) * 100) / 100;
    if (d > 0) delta[name] = d;
  }
  return delta;
}

/** Resident set size in KiB (VmRSS in /proc/PID/status); null when the process is gone. */
export function rssKiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

function socketInodes(pid) {
  const inodes = new Set();
  let fds;
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * The UDP sockets a process holds and the datagrams the kernel dropped on them because their
 * receive queue was full (the `drops` column of /proc/net/udp and udp6): the server's own
 * share of the loss, as opposed to drops at the load generator or the peer.
 */
export function udpSocketDrops(pid) {
  const inodes = socketInodes(pid);
  let sockets = 0;
  let drops = 0;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 13 || !inodes.has(cols[9])) continue;
      sockets += 1;
      drops += Number(cols[12]);
    }
  }
  return { sockets, drops };
}

/** The 1, 5 and 15 minute load averages, rounded, and the core count, to print beside figures. */
export function machineLoad() {
  const [one, five, fifteen] = loadavg().map((v) => Math.round(v * 100) / 100);
  return { loadavg1: one, loadavg5: five, loadavg15: fifteen, cores: cpus().length };
}
