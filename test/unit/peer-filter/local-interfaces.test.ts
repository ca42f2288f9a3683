import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseIpAddress } from '../../../src/turn/peer-filter/ip-address.js';
import {
  localInterfaceAddresses,
  resolveServerAddresses,
} from '../../../src/turn/peer-filter/local-interfaces.js';
import { PeerFilter } from '../../../src/turn/peer-filter/peer-filter.js';

describe('localInterfaceAddresses', () => {
  it('lists every interface address, parseable, without zone ids, loopback included', () => {
    const addresses = localInterfaceAddresses();
    expect(addresses).toContain('127.0.0.1');
    for (const address of addresses) expect(parseIpAddress(address), address).not.toBeNull();
    const expected = Object.values(networkInterfaces()).flatMap((infos) =>
      (infos ?? []).map((i) => i.address),
    );
    expect(new Set(addresses)).toEqual(new Set(expected.map((a) => a.split('%')[0])));
  });
});

describe('resolveServerAddresses', () => {
  const interfaces = () => ['127.0.0.1', '::1', '203.0.113.10', '2001:db8::10'];

  it('keeps explicit addresses as they are', () => {
    expect(resolveServerAddresses(['198.51.100.1', '198.51.100.2'], interfaces)).toEqual([
      '198.51.100.1',
      '198.51.100.2',
    ]);
  });

  it('expands a wildcard listener into every interface address', () => {
    expect(resolveServerAddresses(['0.0.0.0', '198.51.100.1'], interfaces).sort()).toEqual(
      ['198.51.100.1', '127.0.0.1', '::1', '203.0.113.10', '2001:db8::10'].sort(),
    );
    expect(resolveServerAddresses(['::'], interfaces)).toHaveLength(4);
  });

  it('feeds PeerFilter: a public interface address of the host is denied as the server', () => {
    const filter = new PeerFilter({
      serverAddresses: resolveServerAddresses(['0.0.0.0'], () => ['8.8.4.4']),
    });
    expect(filter.check('::ffff:8.8.4.4')).toEqual({ allowed: false, reason: 'server_address' });
  });
});
