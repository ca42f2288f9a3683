// The native TLS session (native/src/tls_session.cc) against real TLS peers: a JS net server
// hands every byte its accepted socket reads to the wrapped native session and writes back what
// the session produces; clients are Node's tls.connect, `openssl s_client` and coturn's
// `turnutils_uclient -S`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireNativeAddon } from '../../../src/transport/native/index.js';
import { makeTestCertificate, type TestCertificate } from '../../helpers/tls-cert.js';

const skipNative = process.env.ICEGATE_SKIP_NATIVE === '1';

type TlsContextHandle = { readonly __tlsContext: unique symbol };
type TlsSessionHandle = { readonly __tlsSession: unique symbol };
interface TlsResult {
  ok: boolean;
  plain?: Buffer;
  cipher: Buffer;
  error?: string;
}
interface TlsAddon {
  tlsContext(certPem: string, keyPem: string): TlsContextHandle;
  tlsSession(ctx: TlsContextHandle): TlsSessionHandle;
  tlsReceive(session: TlsSessionHandle, bytes: Buffer): TlsResult;
  /** One SendV call: the parts of ONE frame. */
  tlsSend(session: TlsSessionHandle, parts: Buffer[]): TlsResult;
  /** One Send per frame, all records in one buffer. */
  tlsSendEach(session: TlsSessionHandle, frames: Buffer[]): TlsResult;
  tlsShutdown(session: TlsSessionHandle): Buffer;
  tlsState(session: TlsSessionHandle): { handshakeDone: boolean; peerClosed: boolean; protocol: string };
}

/** What the server saw on one connection. */
interface Connection {
  session: TlsSessionHandle;
  socket: net.Socket;
  errors: string[];
  plain: Buffer[];
  protocol: string;
  peerClosed: boolean;
}

interface ServerOptions {
  /** Feed the session one byte per Receive call. */
  fragment?: boolean;
  /** Echo decrypted bytes back (default true). */
  echo?: boolean;
}

/** Records (content type, length) in a stream of TLS ciphertext. */
function records(cipher: Buffer): Array<{ type: number; length: number }> {
  const out: Array<{ type: number; length: number }> = [];
  let at = 0;
  while (at + 5 <= cipher.length) {
    const length = cipher.readUInt16BE(at + 3);
    out.push({ type: cipher[at] ?? 0, length });
    at += 5 + length;
  }
  expect(at).toBe(cipher.length);
  return out;
}

class NativeTlsServer {
  readonly connections: Connection[] = [];
  private readonly server: net.Server;
  private readonly waiters: Array<() => void> = [];

  constructor(
    private readonly addon: TlsAddon,
    private readonly ctx: TlsContextHandle,
    private readonly options: ServerOptions = {},
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves once `predicate` holds (checked after every event on any connection). */
  async until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the native TLS server');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private accept(socket: net.Socket): void {
    const c: Connection = {
      session: this.addon.tlsSession(this.ctx),
      socket,
      errors: [],
      plain: [],
      protocol: '',
      peerClosed: false,
    };
    this.connections.push(c);
    socket.on('error', () => {});
    socket.on('close', () => this.notify());
    socket.on('data', (chunk: Buffer) => {
      const pieces = this.options.fragment ? Array.from(chunk, (_, i) => chunk.subarray(i, i + 1)) : [chunk];
      for (const piece of pieces) {
        if (!this.feed(c, piece)) break;
      }
      this.notify();
    });
  }

  private feed(c: Connection, bytes: Buffer): boolean {
    if (c.errors.length > 0 || c.peerClosed) return false;
    const result = this.addon.tlsReceive(c.session, bytes);
    if (result.cipher.length > 0) c.socket.write(result.cipher);
    if (!result.ok) {
      c.errors.push(result.error ?? '');
      c.socket.end();
      return false;
    }
    const state = this.addon.tlsState(c.session);
    if (state.handshakeDone) c.protocol = state.protocol;
    const plain = result.plain ?? Buffer.alloc(0);
    if (plain.length > 0) {
      c.plain.push(plain);
      if (this.options.echo !== false) {
        const sent = this.addon.tlsSend(c.session, [plain]);
        expect(sent.ok, sent.error).toBe(true);
        c.socket.write(sent.cipher);
      }
    }
    if (state.peerClosed) {
      c.peerClosed = true;
      c.socket.end(this.addon.tlsShutdown(c.session));
      return false;
    }
    return true;
  }
}

/** Connects with Node's TLS client and resolves once the handshake is done. */
async function connect(
  port: number,
  cert: string,
  options: tls.ConnectionOptions = {},
): Promise<tls.TLSSocket> {
  return await new Promise<tls.TLSSocket>((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port, ca: cert, servername: 'localhost', ...options },
      () => resolve(socket),
    );
    socket.once('error', reject);
  });
}

/** Reads from `socket` until `n` bytes came. */
async function readBytes(socket: tls.TLSSocket, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  return await new Promise<Buffer>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      if (have >= n) {
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Runs a command with stdin, resolving with its stdout once `done(stdout)` holds; kills it then. */
async function runUntil(
  command: string,
  args: string[],
  input: Buffer | string,
  done: (stdout: string) => boolean,
  timeoutMs = 10_000,
): Promise<string> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${command} timed out; stderr: ${stderr}`)), timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('latin1');
        if (done(stdout)) {
          clearTimeout(timer);
          resolve(stdout);
        }
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.once('error', reject);
      child.stdin.write(input);
    });
  } finally {
    child.kill('SIGKILL');
  }
}

describe.skipIf(skipNative)('native TLS session (memory BIOs, Node-bundled OpenSSL)', () => {
  let addon: TlsAddon;
  let certificate: TestCertificate;
  let certPem: string;
  let ctx: TlsContextHandle;

  beforeAll(async () => {
    addon = requireNativeAddon() as unknown as TlsAddon;
    certificate = await makeTestCertificate();
    certPem = await readFile(certificate.certFile, 'utf8');
    ctx = addon.tlsContext(certPem, await readFile(certificate.keyFile, 'utf8'));
  });

  afterAll(async () => {
    await certificate?.dispose();
  });

  it('rejects a key that does not match the certificate, and text that is no PEM', async () => {
    const other = await makeTestCertificate();
    try {
      const otherKey = await readFile(other.keyFile, 'utf8');
      expect(() => addon.tlsContext(certPem, otherKey)).toThrow(/private key/);
      expect(() => addon.tlsContext('not a certificate', otherKey)).toThrow(/certificate/);
    } finally {
      await other.dispose();
    }
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`echoes 1 B .. 64 KiB payloads to tls.connect over ${version}`, async () => {
      const server = new NativeTlsServer(addon, ctx);
      const port = await server.listen();
      const client = await connect(port, certPem, { minVersion: version, maxVersion: version });
      try {
        expect(client.getProtocol()).toBe(version);
        for (const size of [1, 2, 100, 1500, 16_383, 16_384, 16_385, 40_000, 65_536]) {
          const payload = randomBytes(size);
          const echoed = readBytes(client, size);
          client.write(payload);
          expect((await echoed).equals(payload), `payload of ${size} B`).toBe(true);
        }
        expect(server.connections[0]?.protocol).toBe(version);
        expect(server.connections[0]?.errors).toEqual([]);
      } finally {
        client.destroy();
        await server.close();
      }
    });
  }

  it('echoes many small writes in order, with the input fed one byte per Receive', async () => {
    const server = new NativeTlsServer(addon, ctx, { fragment: true });
    const port = await server.listen();
    const client = await connect(port, certPem);
    try {
      const writes = Array.from({ length: 500 }, (_, i) => Buffer.from(`frame-${i};`));
      const all = Buffer.concat(writes);
      const echoed = readBytes(client, all.length);
      for (const w of writes) client.write(w);
      expect((await echoed).equals(all)).toBe(true);
      expect(server.connections[0]?.protocol).toBe('TLSv1.3');
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it("puts one frame in one record: SendV gathers a frame's parts, a burst is one Send per frame", async () => {
    // coturn's uclient reads one frame per TLS record (docs/tls-records.md).
    const server = new NativeTlsServer(addon, ctx, { echo: false });
    const port = await server.listen();
    const client = await connect(port, certPem);
    try {
      client.write('go');
      await server.until(() => (server.connections[0]?.plain.length ?? 0) > 0);
      const c = server.connections[0] as Connection;
      // A ChannelData frame as header + payload + padding: one record holding all 104 bytes.
      const parts = [Buffer.from([0x40, 0x00, 0x00, 0x61]), Buffer.alloc(97, 5), Buffer.alloc(3)];
      const one = addon.tlsSend(c.session, parts);
      expect(one.ok).toBe(true);
      expect(records(one.cipher)).toHaveLength(1);
      // A burst of 300 frames of 100 B: 300 records of equal size in one write buffer.
      const frames = Array.from({ length: 300 }, (_, i) => Buffer.alloc(100, i & 0xff));
      const burst = addon.tlsSendEach(c.session, frames);
      expect(burst.ok).toBe(true);
      const burstRecords = records(burst.cipher);
      expect(burstRecords).toHaveLength(300);
      expect(new Set(burstRecords.map((r) => r.length)).size).toBe(1);
      expect(burstRecords.every((r) => r.type === 23)).toBe(true);
      // One 40 000 B frame: ceil(40 000 / 16 384) = 3 records; parts of 20 000 + 20 000 B too.
      const big = addon.tlsSend(c.session, [Buffer.alloc(40_000, 9)]);
      expect(records(big.cipher)).toHaveLength(3);
      const halves = addon.tlsSend(c.session, [Buffer.alloc(20_000, 8), Buffer.alloc(20_000, 8)]);
      expect(records(halves.cipher)).toHaveLength(3);
      const expected = Buffer.concat([...parts, ...frames, Buffer.alloc(40_000, 9), Buffer.alloc(40_000, 8)]);
      const received = readBytes(client, expected.length);
      c.socket.write(Buffer.concat([one.cipher, burst.cipher, big.cipher, halves.cipher]));
      expect((await received).equals(expected)).toBe(true);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('refuses Send before the handshake is done', () => {
    const session = addon.tlsSession(ctx);
    const sent = addon.tlsSend(session, [Buffer.from('early')]);
    expect(sent.ok).toBe(false);
    expect(sent.error).toMatch(/handshake not done/);
    expect(sent.cipher).toHaveLength(0);
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`resumes a ${version} session with the ticket it issued`, async () => {
      const server = new NativeTlsServer(addon, ctx);
      const port = await server.listen();
      try {
        // TLS 1.2 delivers the ticket within the handshake, TLS 1.3 after it: listen from the start.
        const first = tls.connect({
          host: '127.0.0.1',
          port,
          ca: certPem,
          servername: 'localhost',
          minVersion: version,
          maxVersion: version,
        });
        const ticket = await new Promise<Buffer>((resolve, reject) => {
          first.once('session', resolve);
          first.once('error', reject);
          first.once('secureConnect', () => first.write('x'));
        });
        expect(first.isSessionReused()).toBe(false);
        first.destroy();
        const second = await connect(port, certPem, {
          minVersion: version,
          maxVersion: version,
          session: ticket,
        });
        expect(second.isSessionReused()).toBe(true);
        second.destroy();
      } finally {
        await server.close();
      }
    });
  }

  it('reports close_notify from the client and answers with its own', async () => {
    const server = new NativeTlsServer(addon, ctx);
    const port = await server.listen();
    const client = await connect(port, certPem);
    try {
      const ended = new Promise<void>((resolve) => client.once('end', resolve));
      client.end(); // close_notify
      await server.until(() => server.connections[0]?.peerClosed === true);
      expect(addon.tlsState((server.connections[0] as Connection).session).peerClosed).toBe(true);
      await ended; // the server's close_notify reached Node as a clean end of stream
      expect(server.connections[0]?.errors).toEqual([]);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('sends close_notify that a Node client reads as a clean end', async () => {
    const server = new NativeTlsServer(addon, ctx);
    const port = await server.listen();
    const client = await connect(port, certPem);
    try {
      client.write('hello');
      await readBytes(client, 5);
      const c = server.connections[0] as Connection;
      const alert = addon.tlsShutdown(c.session);
      const alertRecords = records(alert);
      expect(alertRecords[0]?.type).toBe(client.getProtocol() === 'TLSv1.3' ? 23 : 21); // 1.3 hides the type
      const ended = new Promise<void>((resolve) => client.once('end', resolve));
      c.socket.write(alert);
      await ended;
      expect(addon.tlsSend(c.session, [Buffer.from('late')]).ok).toBe(false);
      // The client's close_notify after ours is still read: peer closed, no error.
      client.end();
      await server.until(() => c.peerClosed);
      expect(c.errors).toEqual([]);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  for (const flag of ['-tls1_2', '-tls1_3'] as const) {
    it(`talks to openssl s_client ${flag}`, async () => {
      const server = new NativeTlsServer(addon, ctx);
      const port = await server.listen();
      try {
        const line = `ping via s_client ${flag}\n`;
        await runUntil(
          'openssl',
          ['s_client', '-connect', `127.0.0.1:${port}`, flag, '-quiet', '-CAfile', certificate.certFile],
          line,
          (out) => out.includes(line),
        );
        expect(server.connections[0]?.protocol).toBe(flag === '-tls1_2' ? 'TLSv1.2' : 'TLSv1.3');
        expect(Buffer.concat(server.connections[0]?.plain ?? []).toString()).toBe(line);
      } finally {
        await server.close();
      }
    });
  }

  it('refuses a TLS 1.1 client (TLS 1.2 minimum)', async () => {
    const server = new NativeTlsServer(addon, ctx);
    const port = await server.listen();
    try {
      const child = spawn(
        'openssl',
        ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0', '-quiet'],
        { stdio: ['pipe', 'ignore', 'ignore'] },
      );
      await server.until(
        () => (server.connections[0]?.errors.length ?? 0) > 0 || server.connections.length > 0,
      );
      await server.until(() => (server.connections[0]?.errors.length ?? 0) > 0);
      child.kill('SIGKILL');
      expect(server.connections[0]?.errors[0]).toMatch(/TLS handshake: .*(unsupported protocol|version)/);
    } finally {
      await server.close();
    }
  });

  it("completes the handshake with coturn's turnutils_uclient -S and reads its Allocate request", async () => {
    const server = new NativeTlsServer(addon, ctx, { echo: false });
    const port = await server.listen();
    const child = spawn(
      'turnutils_uclient',
      [
        '-t',
        '-S',
        '-p',
        String(port),
        '-n',
        '1',
        '-m',
        '1',
        '-u',
        'user',
        '-w',
        'pass',
        '-e',
        '127.0.0.1',
        '127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    // uclient picks one of its client contexts at random per connection attempt, TLS 1.0/1.1-only
    // ones included; those are refused (TLS 1.2 minimum) and it tries again.
    const answered = () => server.connections.find((x) => Buffer.concat(x.plain).length >= 20);
    try {
      await server.until(() => answered() !== undefined);
      const c = answered() as Connection;
      const request = Buffer.concat(c.plain);
      expect(request.readUInt16BE(0)).toBe(0x0003); // Allocate request (RFC 8656 §7.1)
      expect(request.readUInt32BE(4)).toBe(0x2112a442); // magic cookie
      expect(c.protocol).toMatch(/^TLSv1\.[23]$/);
      expect(c.errors).toEqual([]);
      for (const refused of server.connections.filter((x) => x.errors.length > 0)) {
        expect(refused.errors[0]).toMatch(/unsupported protocol|version/);
      }
    } finally {
      child.kill('SIGKILL');
      await server.close();
    }
  });

  it('fails the session on garbage and on a malformed ClientHello, with an alert and no crash', () => {
    const http = addon.tlsSession(ctx);
    const plainText = addon.tlsReceive(http, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(plainText.ok).toBe(false);
    expect(plainText.error).toMatch(/^TLS handshake: /);
    // A handshake record holding a ClientHello whose body is cut short / nonsense.
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0x03, 0x03, 0xff, 0xff]);
    const bad = addon.tlsSession(ctx);
    const result = addon.tlsReceive(bad, hello);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^TLS handshake: /);
    expect(records(result.cipher)[0]?.type).toBe(21); // fatal alert for the peer
    // Once failed, the session stays failed.
    expect(addon.tlsReceive(bad, hello).ok).toBe(false);
  });

  it('fails the session on a corrupted record after the handshake', async () => {
    const server = new NativeTlsServer(addon, ctx);
    const port = await server.listen();
    const raw = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => raw.once('connect', resolve));
    const client = await connect(port, certPem, { socket: raw });
    try {
      client.write('ok');
      await readBytes(client, 2);
      // An application-data record whose bytes are random: the AEAD tag cannot match.
      const forged = Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x40]), randomBytes(64)]);
      raw.write(forged);
      await server.until(() => (server.connections[0]?.errors.length ?? 0) > 0);
      expect(server.connections[0]?.errors[0]).toMatch(/^TLS record: .*(bad record mac|decrypt)/);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('survives random bytes and mutated handshakes fed to Receive (bounded fuzz)', async () => {
    // A real ClientHello from Node's client, captured by a server that does not answer.
    const capture = net.createServer();
    await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve));
    const helloPromise = new Promise<Buffer>((resolve) =>
      capture.once('connection', (s) => s.once('data', resolve)),
    );
    const probe = tls.connect({
      host: '127.0.0.1',
      port: (capture.address() as net.AddressInfo).port,
      ca: certPem,
    });
    probe.on('error', () => {});
    const clientHello = await helloPromise;
    probe.destroy();
    await new Promise<void>((resolve) => capture.close(() => resolve()));

    let failures = 0;
    for (let i = 0; i < 400; i++) {
      const session = addon.tlsSession(ctx);
      let input: Buffer;
      if (i % 2 === 0) {
        input = randomBytes(1 + (i % 300));
        if (i % 4 === 0) input[0] = 0x16; // look like a handshake record
      } else {
        input = Buffer.from(clientHello);
        for (let k = 0; k < 1 + (i % 8); k++) {
          const at = (randomBytes(2).readUInt16BE(0) % (input.length - 5)) + 5;
          input[at] = randomBytes(1)[0] ?? 0;
        }
      }
      // Delivered in two pieces, then random bytes once the state moved on.
      const cut = i % input.length;
      for (const piece of [input.subarray(0, cut), input.subarray(cut), randomBytes(64)]) {
        const result = addon.tlsReceive(session, piece);
        if (!result.ok) {
          failures++;
          expect(typeof result.error).toBe('string');
          break;
        }
      }
    }
    expect(failures).toBeGreaterThan(300);
  });
});
