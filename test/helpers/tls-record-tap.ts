// A TCP pass-through in front of a TLS listener that counts the server's TLS records, for coturn's
// turnutils_uclient over TLS. uclient takes one TURN message per SSL_read, and SSL_read returns one
// record at a time, so when a server puts two ChannelData frames in one record (Node does when
// writes queue behind a pending one, e.g. after an event-loop stall; RFC 8656 section 12.5 and RFC
// 8489 section 6.2.2 make TLS a byte stream, so this is legal) uclient counts all but the first as
// lost. The tap tells such losses apart from real ones. Record headers are plaintext (RFC 8446
// section 5.1), so no key is needed.
import net from 'node:net';

/** TLS content type of application data (RFC 8446 section 5.1). */
const APPLICATION_DATA = 0x17;

/**
 * Bytes a record adds to its plaintext: TLS 1.3 (inner content type and a 16-byte tag, RFC 8446
 * section 5.2), TLS 1.2 AES-GCM (8-byte explicit nonce and tag, RFC 5288 section 3) and TLS 1.2
 * ChaCha20-Poly1305 (tag only, RFC 7905). They differ by less than a frame, so no length matches two.
 */
const RECORD_OVERHEADS = [17, 24, 16] as const;

/** A running tap. */
export interface TlsRecordTap {
  /** Port clients connect to instead of the TLS listener's. */
  port: number;
  /** Application-data records the server sent, by record length. */
  recordLengths: Map<number, number>;
  /**
   * Frames of `frameLength` bytes that arrived in a record behind another frame of that length.
   * uclient picks TLS 1.2 for some connections and 1.3 for others, so a record of k frames is
   * k * frameLength plus any of the AEAD overheads below.
   */
  framesSharingRecord(frameLength: number): number;
  close(): Promise<void>;
}

/** Opens a tap on an ephemeral 127.0.0.1 port forwarding to 127.0.0.1:`targetPort`. */
export async function openTlsRecordTap(targetPort: number): Promise<TlsRecordTap> {
  const recordLengths = new Map<number, number>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    let pending: Buffer = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      // Record header: type (1), legacy version (2), length (2).
      while (pending.length >= 5) {
        const length = pending.readUInt16BE(3);
        if (pending.length < 5 + length) break;
        if (pending[0] === APPLICATION_DATA) recordLengths.set(length, (recordLengths.get(length) ?? 0) + 1);
        pending = pending.subarray(5 + length);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    recordLengths,
    framesSharingRecord(frameLength) {
      let shared = 0;
      for (const [length, count] of recordLengths) {
        for (const overhead of RECORD_OVERHEADS) {
          const frames = (length - overhead) / frameLength;
          if (Number.isInteger(frames) && frames > 1) shared += count * (frames - 1);
        }
      }
      return shared;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
