import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { literalLookup } from '../../../src/transport/index.js';

describe('literalLookup', () => {
  it('answers synchronously with the literal and the family dgram asked for', () => {
    const answers: [string, number][] = [];
    literalLookup('127.0.0.1', 4, (error, address, family) => {
      expect(error).toBeNull();
      answers.push([address, family]);
    });
    literalLookup('::1', 6, (_error, address, family) => answers.push([address, family]));
    literalLookup('::1', { family: 'IPv6' }, (_error, address, family) => answers.push([address, family]));
    expect(answers).toEqual([
      ['127.0.0.1', 4],
      ['::1', 6],
      ['::1', 6],
    ]);
  });

  it('never resolves a hostname: the send is refused by the address parser and nothing arrives', async () => {
    const receiver = dgram.createSocket('udp4');
    const sender = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
    try {
      await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
      await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
      const port = receiver.address().port;
      const received: string[] = [];
      receiver.on('message', (data) => received.push(data.toString()));
      const failure = await new Promise<Error | null>((resolve) =>
        sender.send(Buffer.from('by name'), port, 'localhost', (error) => resolve(error)),
      );
      expect((failure as NodeJS.ErrnoException | null)?.code).toBe('EINVAL');
      // A literal still goes through, so the socket is fine and the receiver is listening.
      await new Promise<void>((resolve) =>
        sender.send(Buffer.from('literal'), port, '127.0.0.1', () => resolve()),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(received).toEqual(['literal']);
    } finally {
      sender.close();
      receiver.close();
    }
  });
});
