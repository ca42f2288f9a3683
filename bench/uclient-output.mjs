// Reads what coturn's turnutils_uclient prints. Its once-a-second progress lines
// ("start_mclient: msz=…, tot_send_msgs=…, tot_recv_msgs=…") are stamped with their arrival time
// (uclient runs under `stdbuf -oL`, so lines arrive when printed); rates come from those stamps,
// not from "Total transmit time", which includes the start-up stagger and the stop wait.

const PROGRESS = /start_mclient: msz=(\d+), tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/;
const TOTALS = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/;
const LOST = /Total lost packets (\d+) \(([\d.]+)%\)/;
const RTT = /Average round trip delay ([\d.]+) ms; min = (\d+) ms, max = (\d+) ms/;
const JITTER = /Average jitter ([\d.]+) ms/;
const TROUBLE = /error|cannot|refused|wrong|unknown/i;

/**
 * Parses stamped lines ({line, t} with t in ms) into counts and rates:
 * - `deliveredPps`: echoed messages received per second over the busy span, from the last
 *   progress line before the first reception to the first line that shows the final count;
 * - `peakPps`: the best one-second step of the same count;
 * - totals, loss and round-trip time from uclient's summary.
 */
export function parseUclient(stamped) {
  const samples = [];
  const result = {
    sent: null,
    received: null,
    lost: null,
    lossPct: null,
    rttMs: null,
    rttMaxMs: null,
    jitterMs: null,
    deliveredPps: null,
    peakPps: null,
    busySeconds: null,
    troubles: [],
  };
  for (const { line, t } of stamped) {
    let m = PROGRESS.exec(line);
    if (m) {
      samples.push({ t, clients: Number(m[1]), sent: Number(m[2]), received: Number(m[3]) });
      continue;
    }
    m = TOTALS.exec(line);
    if (m) {
      result.sent = Number(m[1]);
      result.received = Number(m[2]);
      continue;
    }
    m = LOST.exec(line);
    if (m) {
      result.lost = Number(m[1]);
      result.lossPct = Number(m[2]);
      continue;
    }
    m = RTT.exec(line);
    if (m) {
      result.rttMs = Number(m[1]);
      result.rttMaxMs = Number(m[3]);
      continue;
    }
    m = JITTER.exec(line);
    if (m) {
      result.jitterMs = Number(m[1]);
      continue;
    }
    if (TROUBLE.test(line) && result.troubles.length < 5) result.troubles.push(line.trim());
  }
  Object.assign(result, ratesOf(samples));
  return result;
}

function ratesOf(samples) {
  const firstReceiving = samples.findIndex((s) => s.received > 0);
  if (firstReceiving < 0) return { deliveredPps: 0, peakPps: 0, busySeconds: 0 };
  const start = samples[Math.max(0, firstReceiving - 1)];
  const finalCount = samples[samples.length - 1].received;
  const end = samples.find((s) => s.received === finalCount);
  let peak = 0;
  for (let i = 1; i < samples.length; i += 1) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000;
    if (dt > 0.5) peak = Math.max(peak, (samples[i].received - samples[i - 1].received) / dt);
  }
  const busySeconds = (end.t - start.t) / 1000;
  if (busySeconds <= 0) return { deliveredPps: null, peakPps: round(peak), busySeconds: 0 };
  return {
    deliveredPps: round((end.received - start.received) / busySeconds),
    peakPps: round(peak),
    busySeconds: Math.round(busySeconds * 100) / 100,
  };
}

function round(value) {
  return Math.round(value);
}
