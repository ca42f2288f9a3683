// A small TURN client over TCP or TLS for tests (RFC 8656 section 3.1 framing): long-term auth,
// Allocate, CreatePermission, ChannelBind, Binding, ChannelData. One request at a time.
import net from 'node:net';
import tls from 'node:tls';
import {
  Attr,
  decodeMessage,
  Method,
  Protocol,
  StreamDeframer,
  type TransportAddress,
} from '../../src/stun/index.js';
import { type AttributeWriter, LongTermAuth } from './turn-auth.js';
import { type TestResponse, toResponse } from './turn-client.js';

/** Where and how to connect. */
export interface StreamTarget {
  transport: 'tcp' | 'tls';
  host: string;
  port: number;
  /** TLS: the certificate to trust (PEM); without it the certificate is not verified. */
  ca?: Buffer;
}

/** Opens a raw TCP or TLS socket to `target` (TLS: resolves once the handshake is done). */
export function connectStream(target: StreamTarget, timeoutMs = 3000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      target.transport === 'tls'
        ? tls.connect({
            host: target.host,
            port: target.port,
            servername: net.isIP(target.host) === 0 ? target.host : undefined,
            ...(target.ca === undefined ? { rejectUnauthorized: false } : { ca: target.ca }),
          })
        : net.connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no ${target.transport} connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(target.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** A TURN client over one stream connection. */
export class StreamTurnClient {
  readonly #deframer = new StreamDeframer();
  /** Frames that were not the response being waited for (Data indications, ChannelData). */
  readonly inbox: Buffer[] = [];
  #waiter: ((frame: Buffer) => boolean) | null = null;
  readonly #auth: LongTermAuth;
  /** Set once the server closed the connection. */
  closed = false;

  private constructor(
    readonly socket: net.Socket,
    readonly username: string,
    readonly password: string,
  ) {
    this.#auth = new LongTermAuth(username, password);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.#deframer.push(chunk)) {
        const data = Buffer.from(frame.data);
        if (this.#waiter?.(data) === true) continue;
        this.inbox.push(data);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static async open(target: StreamTarget, username: string, password: string): Promise<StreamTurnClient> {
    return new StreamTurnClient(await connectStream(target), username, password);
  }

  send(data: Buffer): void {
    this.socket.write(data);
  }

  /** Sends a request built by `write` and waits for its response. */
  raw(method: number, write: AttributeWriter = () => {}, sign = false): Promise<TestResponse> {
    const { bytes, tid } = this.#auth.build(method, write, { sign });
    return this.#exchange(bytes, tid);
  }

  /** A request with long-term auth: the first attempt learns REALM/NONCE from 401 or 438. */
  request(method: number, write: AttributeWriter = () => {}): Promise<TestResponse> {
    return this.#auth.withChallenge(() => this.raw(method, write, true));
  }

  allocate(write: AttributeWriter = () => {}): Promise<TestResponse> {
    return this.request(Method.Allocate, (b) => {
      b.addRequestedTransport(Protocol.UDP);
      write(b);
    });
  }

  createPermission(peer: TransportAddress): Promise<TestResponse> {
    return this.request(Method.CreatePermission, (b) => b.addXorAddress(Attr.XOR_PEER_ADDRESS, peer));
  }

  channelBind(channel: number, peer: TransportAddress): Promise<TestResponse> {
    return this.request(Method.ChannelBind, (b) => {
      const value = Buffer.alloc(4);
      value.writeUInt16BE(channel, 0);
      b.add(Attr.CHANNEL_NUMBER, value).addXorAddress(Attr.XOR_PEER_ADDRESS, peer);
    });
  }

  binding(): Promise<TestResponse> {
    return this.raw(Method.Binding);
  }

  /** ChannelData on `channel`, padded to a multiple of 4 as streams require (RFC 8656 section 12.5). */
  sendChannelData(channel: number, payload: Buffer): void {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(channel, 0);
    header.writeUInt16BE(payload.length, 2);
    this.send(Buffer.concat([header, payload, Buffer.alloc((4 - (payload.length % 4)) % 4)]));
  }

  /** Waits until the inbox holds a frame `match` accepts, and takes it out. */
  async receive(match: (frame: Buffer) => boolean, timeoutMs = 2000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex(match);
      if (index >= 0) return this.inbox.splice(index, 1)[0]!;
      if (Date.now() > deadline) throw new Error('nothing received');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Resolves once the server has closed the connection, or rejects after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`connection still open after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }

  #exchange(bytes: Buffer, tid: Buffer, timeoutMs = 3000): Promise<TestResponse> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        reject(new Error('no response'));
      }, timeoutMs);
      this.#waiter = (frame) => {
        const decoded = decodeMessage(frame);
        if (!decoded.ok || !decoded.message.transactionId.equals(tid)) return false;
        clearTimeout(timer);
        this.#waiter = null;
        resolve(toResponse(decoded.message, frame));
        return true;
      };
      this.send(bytes);
    });
  }
}
