// A minimal TURN client over one UDP socket for the benchmark's own probes and allocation load:
// requests with retransmission (RFC 8489 §6.2.1), the long-term credential dance (§9.2: a first
// request without credentials, a 401 with REALM and NONCE, the request again signed; 438 Stale
// Nonce retried once).
import { createSocket } from 'node:dgram';
import {
  Attr,
  buildMessage,
  isStun,
  longTermKey,
  MessageClass,
  newTransactionId,
  readErrorCode,
  readMessage,
} from './stun-wire.mjs';

/** A request that got no answer after its retransmissions. */
export class TurnTimeoutError extends Error {
  constructor(method) {
    super(`no answer to method 0x${method.toString(16)}`);
    this.code = 'timeout';
  }
}

/** An error response (RFC 8489 §14.8), with its code and reason. */
export class TurnErrorResponse extends Error {
  constructor(method, error) {
    super(`method 0x${method.toString(16)} refused: ${error?.code} ${error?.reason ?? ''}`.trim());
    this.code = `error_${error?.code ?? 'unknown'}`;
    this.status = error?.code ?? null;
  }
}

/** One client 5-tuple: its socket, its credential, the server it talks to. */
export class TurnClient {
  /** Opens a socket on `localAddress` (a loopback address); resolves once bound. */
  static async open(server, credential, { rtoMs = 500, retransmits = 3, localAddress = '127.0.0.1' } = {}) {
    const socket = createSocket('udp4');
    await new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, localAddress, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new TurnClient(socket, server, credential, rtoMs, retransmits);
  }

  constructor(socket, server, credential, rtoMs, retransmits) {
    this.socket = socket;
    this.server = server;
    this.credential = credential;
    this.rtoMs = rtoMs;
    this.retransmits = retransmits;
    this.realm = null;
    this.nonce = null;
    this.key = null;
    /** txid hex -> {resolve, timer} */
    this.pending = new Map();
    /** Called with (buffer) for anything that is not a response to a pending request. */
    this.onData = null;
    socket.on('error', () => {});
    socket.on('message', (msg) => this.receive(msg));
  }

  receive(msg) {
    if (isStun(msg)) {
      const message = readMessage(msg);
      const waiting = message && this.pending.get(message.transactionId.toString('hex'));
      if (waiting) {
        this.pending.delete(message.transactionId.toString('hex'));
        clearTimeout(waiting.timer);
        waiting.resolve(message);
        return;
      }
    }
    this.onData?.(msg);
  }

  /** Sends one transaction with retransmissions; resolves to the response or null on timeout. */
  transact(type, attrs, signed) {
    const transactionId = newTransactionId();
    const all = signed
      ? [
          [Attr.username, Buffer.from(this.credential.username)],
          [Attr.realm, Buffer.from(this.realm)],
          [Attr.nonce, Buffer.from(this.nonce)],
          ...attrs,
        ]
      : attrs;
    const bytes = buildMessage(type, transactionId, all, signed ? { key: this.key } : {});
    const id = transactionId.toString('hex');
    return new Promise((resolve) => {
      let sent = 0;
      let wait = this.rtoMs;
      const send = () => {
        if (sent > this.retransmits) {
          this.pending.delete(id);
          resolve(null);
          return;
        }
        sent += 1;
        this.socket.send(bytes, this.server.port, this.server.address);
        entry.timer = setTimeout(send, wait);
        wait *= 2;
      };
      const entry = { resolve, timer: null };
      this.pending.set(id, entry);
      send();
    });
  }

  /**
   * A request (`method` | request class) with the long-term dance; resolves to the success
   * response, rejects with TurnErrorResponse or TurnTimeoutError.
   */
  async request(method, attrs = []) {
    let signed = this.nonce !== null;
    for (let round = 0; round < 3; round += 1) {
      const response = await this.transact(method | MessageClass.request, attrs, signed);
      if (response === null) throw new TurnTimeoutError(method);
      if (response.cls === MessageClass.success) return response;
      const error = readErrorCode(response.attrs.get(Attr.errorCode));
      const realm = response.attrs.get(Attr.realm);
      const nonce = response.attrs.get(Attr.nonce);
      const retry = (error?.code === 401 && !signed) || error?.code === 438;
      if (!retry || nonce === undefined || (realm === undefined && this.realm === null)) {
        throw new TurnErrorResponse(method, error);
      }
      if (realm !== undefined) this.realm = realm.toString('utf8');
      this.nonce = nonce.toString('utf8');
      this.key = longTermKey(this.credential.username, this.realm, this.credential.password);
      signed = true;
    }
    throw new TurnErrorResponse(method, { code: 401, reason: 'credentials refused' });
  }

  /** Sends raw bytes (an indication or ChannelData) to the server. */
  sendRaw(bytes) {
    this.socket.send(bytes, this.server.port, this.server.address);
  }

  /** Closes the socket; pending requests are left to time out unanswered. */
  close() {
    for (const entry of this.pending.values()) clearTimeout(entry.timer);
    this.pending.clear();
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
