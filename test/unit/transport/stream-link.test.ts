// StreamLink's bounded queue: relayed data is dropped past the soft limit, STUN responses are still
// written up to the hard limit, and past it the connection is ended rather than a response lost.
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  dataIndicationParts,
  MessageBuilder,
  Method,
  newTransactionId,
  StunClass,
} from '../../../src/stun/index.js';
import { isRelayedData, StreamLink } from '../../../src/transport/index.js';

const CLIENT = { family: 'IPv4' as const, address: '203.0.113.5', port: 5000 };

/** A socket stand-in whose queue length the test sets. */
class FakeSocket {
  writable = true;
  writableLength = 0;
  readonly written: Buffer[] = [];
  corked = 0;
  write(data: Buffer): boolean {
    this.written.push(data);
    return true;
  }
  cork(): void {
    this.corked++;
  }
  uncork(): void {}
}

function link(socket: FakeSocket) {
  const events = { dropped: 0, overflow: 0 };
  const l = new StreamLink(
    socket as unknown as Socket,
    { maxQueuedBytes: 1000, maxQueuedBytesHard: 5000 },
    { dropped: () => events.dropped++, overflow: () => events.overflow++ },
  );
  return { link: l, events };
}

const response = new MessageBuilder(StunClass.SuccessResponse, Method.Allocate, newTransactionId()).build();
const channelData = [Buffer.from([0x40, 0x01, 0x00, 0x03]), Buffer.from([1, 2, 3]), Buffer.alloc(1)];
const dataIndication = [
  dataIndicationParts({ family: 'IPv4', address: '198.51.100.1', port: 9 }, 2),
  Buffer.from([1, 2]),
  Buffer.alloc(2),
];

describe('isRelayedData', () => {
  it('tells relayed data (ChannelData, indications) from responses', () => {
    expect(isRelayedData(channelData[0]!)).toBe(true);
    expect(isRelayedData(dataIndication[0]!)).toBe(true);
    expect(isRelayedData(response)).toBe(false);
    const error = new MessageBuilder(StunClass.ErrorResponse, Method.Refresh, newTransactionId()).build();
    expect(isRelayedData(error)).toBe(false);
  });
});

describe('StreamLink', () => {
  it('writes every part of a frame, corked, while the queue is short', () => {
    const socket = new FakeSocket();
    const { link: l, events } = link(socket);
    l.send(CLIENT, channelData);
    l.send(CLIENT, response);
    expect(Buffer.concat(socket.written)).toEqual(Buffer.concat([...channelData, response]));
    expect(socket.corked).toBe(1);
    expect(events).toEqual({ dropped: 0, overflow: 0 });
  });

  it('drops relayed data past the soft limit but still writes responses', () => {
    const socket = new FakeSocket();
    socket.writableLength = 1000;
    const { link: l, events } = link(socket);
    l.send(CLIENT, channelData);
    l.send(CLIENT, dataIndication);
    expect(events.dropped).toBe(2);
    l.send(CLIENT, response);
    expect(socket.written).toEqual([response]);
    expect(events.overflow).toBe(0);
  });

  it('reports overflow instead of writing a response past the hard limit', () => {
    const socket = new FakeSocket();
    socket.writableLength = 5000;
    const { link: l, events } = link(socket);
    l.send(CLIENT, response);
    expect(socket.written).toHaveLength(0);
    expect(events.overflow).toBe(1);
  });

  it('writes nothing to a socket that is no longer writable', () => {
    const socket = new FakeSocket();
    socket.writable = false;
    const { link: l } = link(socket);
    l.send(CLIENT, response);
    expect(socket.written).toHaveLength(0);
  });
});
