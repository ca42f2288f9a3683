// Records what real clients send to a TURN server, as hex fixtures under test/fixtures/captured/,
// for the fuzzers' seed corpus: headless Chromium, werift and coturn's turnutils_uclient (channel
// and Send-indication modes) relaying through a test relay whose input is tapped.
// Run: `npm run stress:capture` (rewrites the fixtures; the fuzzers only read them).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RTCDataChannel, RTCPeerConnection } from 'werift';
import { decodeMessage } from '../../src/stun/index.js';
import type { FiveTuple } from '../../src/turn/index.js';
import { startTestRelay, type TestRelay } from '../../test/helpers/relay.js';
import { STRESS_PORTS } from '../lib/stress-ports.js';

const OUT_DIR = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'captured');
const SECRET = 'capture-secret';
const PORTS = STRESS_PORTS.capture;

/** Distinct packets by kind (STUN class+method, or ChannelData), a few of each. */
class Capture {
  readonly packets: Buffer[] = [];
  readonly #perKind = new Map<string, number>();
  constructor(readonly perKind: number) {}

  record(data: Buffer): void {
    const kind = kindOf(data);
    const seen = this.#perKind.get(kind) ?? 0;
    if (seen >= this.perKind) return;
    this.#perKind.set(kind, seen + 1);
    this.packets.push(Buffer.from(data));
  }

  kinds(): string[] {
    return [...this.#perKind.keys()];
  }
}

function kindOf(data: Buffer): string {
  if (data.length > 0 && data[0]! >> 6 === 1) return 'channel-data';
  const decoded = decodeMessage(data);
  if (!decoded.ok) return `other:${decoded.error}`;
  return `stun:${decoded.message.cls}:${decoded.message.method}`;
}

let relay: TestRelay;
let capture: Capture | null = null;

beforeAll(async () => {
  relay = await startTestRelay({ secrets: [SECRET], relayMin: PORTS.relayMin, relayMax: PORTS.relayMax });
  const core = relay.server.core;
  const original = core.handleClientPacket.bind(core);
  core.handleClientPacket = (tuple: FiveTuple, data: Buffer) => {
    capture?.record(data);
    original(tuple, data);
  };
});

afterAll(async () => {
  await relay?.close();
});

async function save(name: string, source: string, packets: readonly Buffer[]): Promise<void> {
  const lines = [
    `# ${source}`,
    '# Client-to-server datagrams as received by an icegate test relay on 127.0.0.1 (test secret,',
    '# loopback addresses only); one hex packet per line. Rewritten by `npm run stress:capture`.',
    ...packets.map((p) => p.toString('hex')),
  ];
  await writeFile(join(OUT_DIR, `${name}.hex`), `${lines.join('\n')}\n`);
}

function runUclient(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('turnutils_uclient', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}

function opened(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve();
  return new Promise((resolve) => {
    channel.stateChanged.subscribe((state) => {
      if (state === 'open') resolve();
    });
  });
}

describe('capturing real clients', () => {
  it('records Chromium', async () => {
    capture = new Capture(6);
    const { username, password } = relay.credential('acme', 600);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage();
      // A string, so the bundler does not rewrite the page's own RTCPeerConnection into werift's.
      const echoed = await page.evaluate(
        `(${BROWSER_EXCHANGE})(${JSON.stringify({ url: relay.url, username, credential: password })})`,
      );
      expect(echoed).toBe(20);
    } finally {
      await browser.close();
    }
    expect(capture.kinds()).toContain('channel-data');
    await save(
      'chromium',
      `headless Chromium (${(await chromiumVersion()) ?? 'unknown version'})`,
      capture.packets,
    );
  });

  it('records werift', async () => {
    capture = new Capture(6);
    const pcs: RTCPeerConnection[] = [];
    const peer = (): RTCPeerConnection => {
      const { username, password } = relay.credential('acme', 600);
      const pc = new RTCPeerConnection({
        iceTransportPolicy: 'relay',
        iceServers: [{ urls: relay.url, username, credential: password }],
      });
      pcs.push(pc);
      return pc;
    };
    const a = peer();
    const b = peer();
    a.onIceCandidate.subscribe((c) => {
      if (c) void b.addIceCandidate(c);
    });
    b.onIceCandidate.subscribe((c) => {
      if (c) void a.addIceCandidate(c);
    });
    const remote = new Promise<RTCDataChannel>((resolve) => b.onDataChannel.subscribe(resolve));
    const local = a.createDataChannel('capture');
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    const channel = await remote;
    await Promise.all([opened(local), opened(channel)]);
    channel.onMessage.subscribe((m) => channel.send(m));
    const got = new Promise<void>((resolve) => {
      let n = 0;
      local.onMessage.subscribe(() => {
        if (++n === 10) resolve();
      });
    });
    for (let i = 0; i < 10; i++) local.send(`capture ${i}`);
    await got;
    await Promise.all(pcs.map((pc) => pc.close()));
    expect(capture.kinds()).toContain('channel-data');
    await save('werift', 'werift 0.24.4', capture.packets);
  });

  it('records turnutils_uclient in channel and Send-indication modes', async () => {
    capture = new Capture(6);
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => peer.bind(PORTS.peer, '127.0.0.1', () => resolve()));
    peer.on('message', (data, from) => peer.send(data, from.port, from.address));
    try {
      const base = ['-W', SECRET, '-u', 'acme', '-e', '127.0.0.1', '-r', String(PORTS.peer)];
      const load = ['-m', '2', '-n', '20', '-l', '120', '-z', '10', '-X'];
      const target = ['-p', String(relay.port), '127.0.0.1'];
      await runUclient([...base, ...load, '-c', ...target]);
      await runUclient([...base, ...load, '-s', ...target]);
      // RTP/RTCP pairs: EVEN-PORT and RESERVATION-TOKEN requests.
      await runUclient([...base, ...load, ...target]);
    } finally {
      peer.close();
    }
    expect(capture.kinds()).toContain('channel-data');
    await save('uclient', 'coturn 4.6.1 turnutils_uclient (-c, -s, and RTP/RTCP pairs)', capture.packets);
  });
});

/** Runs in the page: two relay-only peers exchange 20 data-channel messages; answers how many came back. */
const BROWSER_EXCHANGE = `async ({ url, username, credential }) => {
  const config = { iceTransportPolicy: 'relay', iceServers: [{ urls: url, username, credential }] };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const channel = a.createDataChannel('capture');
  b.ondatachannel = (e) => { e.channel.onmessage = (m) => e.channel.send(m.data); };
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await new Promise((resolve) => { channel.onopen = resolve; });
  let count = 0;
  await new Promise((resolve) => {
    channel.onmessage = () => { if (++count === 20) resolve(); };
    for (let i = 0; i < 20; i++) channel.send('capture ' + i);
  });
  a.close();
  b.close();
  return count;
}`;

async function chromiumVersion(): Promise<string | null> {
  const output = await new Promise<string>((resolve) => {
    const child = spawn('/usr/bin/chromium', ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => {
      text += c.toString();
    });
    child.on('close', () => resolve(text.trim()));
    child.on('error', () => resolve(''));
  });
  return output === '' ? null : output;
}
