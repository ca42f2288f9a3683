// The fuzzers' seed corpus: the RFC 5769 test vectors, packets captured from Chromium, werift and
// coturn's client (test/fixtures/captured/*.hex, see stress/capture/), and requests of every TURN
// method built here, signed under a given key when one is passed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Attr,
  encodeChannelData,
  MessageBuilder,
  Method,
  newTransactionId,
  Protocol,
  StunClass,
  type TransportAddress,
} from '../../src/stun/index.js';
import {
  SAMPLE_IPV4_RESPONSE,
  SAMPLE_IPV6_RESPONSE,
  SAMPLE_LONG_TERM_REQUEST,
  SAMPLE_REQUEST,
} from '../../test/fixtures/stun/rfc5769.js';

const CAPTURED_DIR = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'captured');

/** RFC 5769 section 2's four messages. */
export function rfc5769Seeds(): Buffer[] {
  return [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE, SAMPLE_LONG_TERM_REQUEST].map((b) =>
    Buffer.from(b),
  );
}

/** Captured client packets by source file name (chromium, werift, uclient). */
export function capturedSeeds(): Map<string, Buffer[]> {
  const bySource = new Map<string, Buffer[]>();
  for (const file of readdirSync(CAPTURED_DIR)) {
    if (!file.endsWith('.hex')) continue;
    const packets = readFileSync(join(CAPTURED_DIR, file), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => Buffer.from(line, 'hex'));
    bySource.set(file.replace(/\.hex$/, ''), packets);
  }
  return bySource;
}

/** What signs generated requests: the long-term key, and USERNAME/REALM/NONCE to carry. */
export interface SeedSigner {
  username: string;
  realm: string;
  nonce: string;
  key: Buffer;
}

/** A peer address for generated requests. */
const PEER: TransportAddress = { family: 'IPv4', address: '127.0.0.1', port: 9 };

/**
 * Requests of every method and the data-path messages, signed (MESSAGE-INTEGRITY, FINGERPRINT)
 * when `signer` is given: Allocate (plain, EVEN-PORT, RESERVATION-TOKEN, IPv6, LIFETIME), Refresh
 * (including 0), CreatePermission (one and several peers), ChannelBind, Binding, Send and Binding
 * indications, ChannelData.
 */
export function generatedSeeds(signer?: SeedSigner): Buffer[] {
  const request = (method: number, write: (b: MessageBuilder) => void): Buffer => {
    const b = new MessageBuilder(StunClass.Request, method, newTransactionId());
    write(b);
    if (signer === undefined) return b.build({ fingerprint: true });
    b.addText(Attr.USERNAME, signer.username)
      .addText(Attr.REALM, signer.realm)
      .addText(Attr.NONCE, signer.nonce);
    return b.build({ integrityKey: signer.key, fingerprint: true });
  };
  const channelNumber = (n: number): Buffer => {
    const v = Buffer.alloc(4);
    v.writeUInt16BE(n, 0);
    return v;
  };
  return [
    request(Method.Allocate, (b) => b.addRequestedTransport(Protocol.UDP)),
    request(Method.Allocate, (b) => b.addRequestedTransport(Protocol.UDP).addEvenPort(true)),
    request(Method.Allocate, (b) =>
      b.addRequestedTransport(Protocol.UDP).add(Attr.RESERVATION_TOKEN, Buffer.alloc(8, 7)),
    ),
    request(Method.Allocate, (b) =>
      b.addRequestedTransport(Protocol.UDP).addAddressFamily(Attr.REQUESTED_ADDRESS_FAMILY, 'IPv6'),
    ),
    request(Method.Allocate, (b) =>
      b.addRequestedTransport(Protocol.TCP).addUint32(Attr.LIFETIME, 3600).addFlag(Attr.DONT_FRAGMENT),
    ),
    request(Method.Refresh, (b) => b.addUint32(Attr.LIFETIME, 600)),
    request(Method.Refresh, (b) => b.addUint32(Attr.LIFETIME, 0)),
    request(Method.CreatePermission, (b) => b.addXorAddress(Attr.XOR_PEER_ADDRESS, PEER)),
    request(Method.CreatePermission, (b) =>
      b
        .addXorAddress(Attr.XOR_PEER_ADDRESS, PEER)
        .addXorAddress(Attr.XOR_PEER_ADDRESS, { family: 'IPv4', address: '127.0.0.2', port: 1 })
        .addXorAddress(Attr.XOR_PEER_ADDRESS, { family: 'IPv6', address: '::ffff:127.0.0.1', port: 1 }),
    ),
    request(Method.ChannelBind, (b) =>
      b.add(Attr.CHANNEL_NUMBER, channelNumber(0x4001)).addXorAddress(Attr.XOR_PEER_ADDRESS, PEER),
    ),
    request(Method.Binding, () => {}),
    new MessageBuilder(StunClass.Indication, Method.Send, newTransactionId())
      .addXorAddress(Attr.XOR_PEER_ADDRESS, PEER)
      .add(Attr.DATA, Buffer.from('seed payload'))
      .build(),
    new MessageBuilder(StunClass.Indication, Method.Binding, newTransactionId()).build({ fingerprint: true }),
    encodeChannelData(0x4001, Buffer.from('channel payload')),
    encodeChannelData(0x4fff, Buffer.alloc(0)),
  ];
}

/** Every seed that needs no key: RFC 5769, captured and unsigned generated ones. */
export function unsignedCorpus(): Buffer[] {
  return [...rfc5769Seeds(), ...[...capturedSeeds().values()].flat(), ...generatedSeeds()];
}
