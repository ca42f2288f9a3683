import { describe, expect, it } from 'vitest';
import { ClientTuples } from '../../../src/transport/index.js';

const SERVER = { family: 'IPv4' as const, address: '0.0.0.0', port: 3478 };

describe('ClientTuples', () => {
  it('returns the same tuple object for the same client', () => {
    const tuples = new ClientTuples(SERVER);
    const a = tuples.tupleFor({ family: 'IPv4', address: '1.2.3.4', port: 5, size: 10 });
    const b = tuples.tupleFor({ family: 'IPv4', address: '1.2.3.4', port: 5, size: 99 });
    const c = tuples.tupleFor({ family: 'IPv4', address: '1.2.3.4', port: 6, size: 10 });
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(a.key).toBe('udp:1.2.3.4:5>0.0.0.0:3478');
    expect(a.serverKey).toBe('udp:0.0.0.0:3478');
    expect(tuples.size).toBe(2);
  });

  it('speaks of IPv4 clients of a dual-stack socket as IPv4', () => {
    const tuples = new ClientTuples({ family: 'IPv6', address: '::', port: 3478 });
    const tuple = tuples.tupleFor({ family: 'IPv6', address: '::ffff:1.2.3.4', port: 5, size: 1 });
    expect(tuple.client).toEqual({ family: 'IPv4', address: '1.2.3.4', port: 5 });
  });

  it('stays bounded under a flood of sources', () => {
    const tuples = new ClientTuples(SERVER);
    for (let port = 0; port < 70_000; port++) {
      tuples.tupleFor({ family: 'IPv4', address: `10.0.${port >> 8}.${port & 255}`, port, size: 1 });
    }
    expect(tuples.size).toBeLessThanOrEqual(65_536);
  });

  it('forgets a client: the next datagram makes a new tuple, other ports stay', () => {
    const tuples = new ClientTuples(SERVER);
    const a = tuples.tupleFor({ family: 'IPv4', address: '1.2.3.4', port: 5, size: 1 });
    tuples.tupleFor({ family: 'IPv4', address: '1.2.3.4', port: 6, size: 1 });
    expect(tuples.forget(a.client)).toBe(false);
    expect(tuples.size).toBe(1);
    expect(tuples.forget(a.client)).toBe(false);
    expect(tuples.size).toBe(1);
    const again = tuples.tupleFor({ family: 'IPv4', address: '1.2.3.4', port: 5, size: 1 });
    expect(again).not.toBe(a);
    expect(again.key).toBe(a.key);
    expect(tuples.forget(again.client)).toBe(false);
    expect(tuples.forget({ family: 'IPv4', address: '1.2.3.4', port: 6 })).toBe(true);
    expect(tuples.size).toBe(0);
    expect(tuples.forget({ family: 'IPv4', address: '9.9.9.9', port: 1 })).toBe(true);
    expect(tuples.size).toBe(0);
  });

  it('forgets an IPv4 client of a dual-stack socket by its TURN (IPv4) address', () => {
    const tuples = new ClientTuples({ family: 'IPv6', address: '::', port: 3478 });
    const v4 = tuples.tupleFor({ family: 'IPv6', address: '::ffff:1.2.3.4', port: 5, size: 1 });
    const v6 = tuples.tupleFor({ family: 'IPv6', address: '2001:db8::1', port: 5, size: 1 });
    expect(tuples.size).toBe(2);
    expect(tuples.forget(v4.client)).toBe(true);
    expect(tuples.size).toBe(1);
    expect(tuples.forget(v6.client)).toBe(true);
    expect(tuples.size).toBe(0);
  });
});
