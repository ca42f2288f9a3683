import { describe, expect, it } from 'vitest';
import type { PeerDenyReason } from '../../../src/turn/peer-filter/deny-reason.js';
import { PEER_VERDICT_CACHE_SIZE, PeerFilter } from '../../../src/turn/peer-filter/peer-filter.js';

type Row = [address: string, reason: PeerDenyReason];

const defaults = new PeerFilter();

function expectDenied(filter: PeerFilter, address: string, reason: PeerDenyReason): void {
  expect(filter.check(address), address).toEqual({ allowed: false, reason });
}
function expectAllowed(filter: PeerFilter, address: string): void {
  expect(filter.check(address), address).toEqual({ allowed: true });
}

describe('built-in IPv4 denials (first and last address of every range)', () => {
  it.each<Row>([
    ['0.0.0.0', 'unspecified'],
    ['0.255.255.255', 'unspecified'],
    ['10.0.0.0', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.0', 'cgnat'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.255', 'loopback'],
    ['169.254.0.0', 'link_local'],
    ['169.254.169.254', 'link_local'],
    ['169.254.255.255', 'link_local'],
    ['172.16.0.0', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.0', 'reserved'],
    ['192.0.0.255', 'reserved'],
    ['192.0.2.0', 'documentation'],
    ['192.0.2.255', 'documentation'],
    ['192.88.99.0', 'reserved'],
    ['192.88.99.255', 'reserved'],
    ['192.168.0.0', 'private'],
    ['192.168.255.255', 'private'],
    ['198.18.0.0', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['198.51.100.0', 'documentation'],
    ['198.51.100.255', 'documentation'],
    ['203.0.113.0', 'documentation'],
    ['203.0.113.255', 'documentation'],
    ['224.0.0.0', 'multicast'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.0', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['255.255.255.255', 'broadcast'],
  ])('%s -> %s', (address, reason) => expectDenied(defaults, address, reason));
});

describe('built-in IPv6 denials', () => {
  it.each<Row>([
    ['::', 'unspecified'],
    ['0:0:0:0:0:0:0:0', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['64:ff9b:1::', 'reserved'],
    ['64:ff9b:1:ffff:ffff:ffff:ffff:ffff', 'reserved'],
    ['100::', 'reserved'],
    ['100::ffff:ffff:ffff:ffff', 'reserved'],
    ['2001:2::1', 'reserved'],
    ['2001:10::1', 'reserved'],
    ['2001:1f:ffff::1', 'reserved'],
    ['2001:20::1', 'reserved'],
    ['2001:2f:ffff::1', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'documentation'],
    ['3fff::1', 'documentation'],
    ['3fff:fff:ffff::1', 'documentation'],
    ['5f00::1', 'reserved'],
    ['fc00::1', 'unique_local'],
    ['fd00::1', 'unique_local'],
    ['fdff:ffff::1', 'unique_local'],
    ['fe80::1', 'link_local'],
    ['febf:ffff::1', 'link_local'],
    ['fec0::1', 'private'],
    ['feff::1', 'private'],
    ['ff02::1', 'multicast'],
    ['ff0e::1', 'multicast'],
    // Outside global unicast 2000::/3 and not an IPv4 embedding.
    ['1::1', 'reserved'],
    ['4000::1', 'reserved'],
    ['e000::1', 'reserved'],
    ['64:ff9b::1:0:7f00:1', 'reserved'],
  ])('%s -> %s', (address, reason) => expectDenied(defaults, address, reason));
});

describe('every encoding of a denied IPv4 address is denied with its reason', () => {
  it.each<Row>([
    // 127.0.0.1
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:7F00:0001', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['0000:0000:0000:0000:0000:ffff:127.0.0.1', 'loopback'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:7f00:1:abcd::1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    // Teredo: server 65.54.227.120 (public), client 127.0.0.1 = ~0x80fffffe.
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'],
    // Teredo: server 127.0.0.1, client 8.8.8.8 = ~0xf7f7f7f7.
    ['2001:0:7f00:1:0:0:f7f7:f7f7', 'loopback'],
    ['2606:4700::5efe:7f00:1', 'loopback'],
    ['2606:4700::200:5efe:127.0.0.1', 'loopback'],
    // 169.254.169.254, the cloud metadata service
    ['::ffff:169.254.169.254', 'link_local'],
    ['::ffff:a9fe:a9fe', 'link_local'],
    ['::a9fe:a9fe', 'link_local'],
    ['64:ff9b::a9fe:a9fe', 'link_local'],
    ['2002:a9fe:a9fe::', 'link_local'],
    ['2001:0:4136:e378:8000:63bf:5601:5601', 'link_local'],
    // others
    ['::ffff:10.0.0.1', 'private'],
    ['2002:c0a8:101::1', 'private'],
    ['64:ff9b::ac10:1', 'private'],
    ['::ffff:100.64.0.1', 'cgnat'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:0:0', 'unspecified'],
    ['::0.0.0.2', 'unspecified'],
    ['2002::', 'unspecified'],
    ['::ffff:255.255.255.255', 'broadcast'],
    ['2001:0:4136:e378:8000:63bf::', 'broadcast'],
    ['64:ff9b::e000:1', 'multicast'],
    ['::ffff:224.0.0.1', 'multicast'],
    ['::ffff:192.0.2.1', 'documentation'],
    ['64:ff9b:1::8.8.8.8', 'reserved'],
  ])('%s -> %s', (address, reason) => expectDenied(defaults, address, reason));
});

describe('text that is not a strict IP literal is invalid, hence denied', () => {
  it.each([
    'fe80::1%eth0',
    '::1%lo',
    '0177.0.0.1',
    '2130706433',
    '127.1',
    '0x7f.0.0.1',
    '127.000.000.001',
    '[::1]',
    'localhost',
    '127.0.0.1:3478',
    '127.0.0.1/32',
    ' 8.8.8.8',
    '',
  ])('%j -> invalid', (address) => expectDenied(defaults, address, 'invalid'));
});

describe('public addresses are allowed', () => {
  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '65.54.227.120',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.255',
    '192.0.3.0',
    '192.167.255.255',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700::1111',
    '2001:4860:4860::8888',
    '2a00:1450:4001::1',
    '2001:1::1',
    '2001:3::1',
    '3fff:1000::1',
    '3ffe::1',
    // Encodings of public addresses behave like the address.
    '::ffff:8.8.8.8',
    '::ffff:0:8.8.8.8',
    '::8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1',
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7',
    '2606:4700::5efe:8.8.8.8',
  ])('%s', (address) => expectAllowed(defaults, address));
});

describe('server addresses', () => {
  const filter = new PeerFilter({
    serverAddresses: ['8.8.4.4', '2606:4700:10::1', '::ffff:1.0.0.1'],
    allow: ['8.8.4.0/24', '2606:4700::/32'],
  });

  it.each<Row>([
    ['8.8.4.4', 'server_address'],
    ['::ffff:8.8.4.4', 'server_address'],
    ['::ffff:808:404', 'server_address'],
    ['::8.8.4.4', 'server_address'],
    ['64:ff9b::808:404', 'server_address'],
    ['2002:808:404::', 'server_address'],
    ['2001:0:4136:e378:8000:63bf:f7f7:fbfb', 'server_address'],
    ['2001:0:808:404::f7f7:f7f7', 'server_address'],
    ['2606:4700::5efe:8.8.4.4', 'server_address'],
    ['2606:4700:10::1', 'server_address'],
    ['1.0.0.1', 'server_address'],
  ])('%s -> %s, even though allow-listed', (address, reason) => expectDenied(filter, address, reason));

  it('leaves neighbours alone', () => {
    expectAllowed(filter, '8.8.4.5');
    expectAllowed(filter, '2606:4700:10::2');
  });

  it('refuses a server address that is not an address', () => {
    expect(() => new PeerFilter({ serverAddresses: ['my-host'] })).toThrow(
      expect.objectContaining({ code: 'ICEGATE_PEER_FILTER_BAD_SERVER_ADDRESS' }),
    );
  });
});

describe('allow list wins over deny', () => {
  it('allows an allow-listed private network in every encoding, and nothing beside it', () => {
    const filter = new PeerFilter({ allow: ['10.0.0.0/8', 'fd00::/8'] });
    for (const address of ['10.1.2.3', '::ffff:10.1.2.3', '64:ff9b::a01:203', '2002:a01:203::', 'fd00::1']) {
      expectAllowed(filter, address);
    }
    expectDenied(filter, '192.168.1.1', 'private');
    expectDenied(filter, 'fc00::1', 'unique_local');
    expectDenied(filter, '127.0.0.1', 'loopback');
  });

  it('wins over configured denials too', () => {
    const filter = new PeerFilter({ deny: ['8.8.0.0/16'], allow: ['8.8.8.8'] });
    expectAllowed(filter, '8.8.8.8');
    expectDenied(filter, '8.8.4.4', 'configured_deny');
  });

  it('accepts IPv4-mapped allow entries as IPv4 networks', () => {
    const filter = new PeerFilter({ allow: ['::ffff:10.0.0.0/104'] });
    expectAllowed(filter, '10.0.0.1');
    expectAllowed(filter, '::ffff:10.0.0.1');
  });

  it('never lifts the unspecified address', () => {
    const filter = new PeerFilter({ allow: ['0.0.0.0/0', '::/0'] });
    expectDenied(filter, '0.0.0.0', 'unspecified');
    expectDenied(filter, '::', 'unspecified');
    expectDenied(filter, '::ffff:0.0.0.0', 'unspecified');
    expectAllowed(filter, '10.0.0.1');
  });

  it('allowing an encoding prefix does not allow the IPv4 addresses inside it', () => {
    const filter = new PeerFilter({ allow: ['64:ff9b::/96', '64:ff9b:1::/48', '2002::/16'] });
    expectDenied(filter, '64:ff9b::a00:1', 'private');
    expectDenied(filter, '64:ff9b:1::a00:1', 'private');
    expectDenied(filter, '2002:7f00:1::', 'loopback');
    expectAllowed(filter, '64:ff9b:1::808:808');
  });
});

describe('configured deny entries add to the built-in list', () => {
  const filter = new PeerFilter({ deny: ['8.8.8.0/24', '2606:4700::/32'] });

  it.each<Row>([
    ['8.8.8.8', 'configured_deny'],
    ['::ffff:8.8.8.8', 'configured_deny'],
    ['2002:808:808::', 'configured_deny'],
    ['64:ff9b::8.8.8.8', 'configured_deny'],
    ['2606:4700::1111', 'configured_deny'],
    ['10.0.0.1', 'private'],
  ])('%s -> %s', (address, reason) => expectDenied(filter, address, reason));

  it('leaves the rest allowed', () => {
    expectAllowed(filter, '8.8.4.4');
    expectAllowed(filter, '2606:4701::1');
  });

  it('can deny an encoding prefix outright', () => {
    const no6to4 = new PeerFilter({ deny: ['2002::/16', '2001::/32'] });
    expectDenied(no6to4, '2002:808:808::', 'configured_deny');
    expectDenied(no6to4, '2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'configured_deny');
    expectAllowed(no6to4, '8.8.8.8');
  });

  it('refuses a bad entry with a stable code', () => {
    expect(() => new PeerFilter({ deny: ['10.0.0.1/8'] })).toThrow(
      expect.objectContaining({
        code: 'ICEGATE_PEER_FILTER_BAD_CIDR',
        message: expect.stringMatching(/^deny list:/),
      }),
    );
    expect(() => new PeerFilter({ allow: ['nope'] })).toThrow(
      expect.objectContaining({
        code: 'ICEGATE_PEER_FILTER_BAD_CIDR',
        message: expect.stringMatching(/^allow list:/),
      }),
    );
  });
});

describe('allowLoopback (tests only)', () => {
  const filter = new PeerFilter({ allowLoopback: true, serverAddresses: ['127.0.0.1', '::1', '8.8.4.4'] });

  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::127.0.0.1',
    '2002:7f00:1::',
    '64:ff9b::7f00:1',
    '2001:0:4136:e378:8000:63bf:80ff:fffe',
  ])('allows loopback %s, even as a server address', (address) => expectAllowed(filter, address));

  it.each<Row>([
    ['10.0.0.1', 'private'],
    ['169.254.169.254', 'link_local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['::ffff:0.0.0.1', 'unspecified'],
    ['fe80::1', 'link_local'],
    ['8.8.4.4', 'server_address'],
  ])('still denies %s -> %s', (address, reason) => expectDenied(filter, address, reason));

  it('is off by default', () => {
    expectDenied(new PeerFilter({ allowLoopback: false }), '127.0.0.1', 'loopback');
  });

  it('does not lift a configured deny of loopback', () => {
    expectDenied(
      new PeerFilter({ allowLoopback: true, deny: ['127.0.0.2'] }),
      '127.0.0.2',
      'configured_deny',
    );
  });
});

describe('checkIp', () => {
  it('judges parsed addresses like their text', () => {
    expect(defaults.checkIp({ family: 6, words: [0, 0, 0xffff, 0x7f000001] })).toEqual({
      allowed: false,
      reason: 'loopback',
    });
    expect(defaults.checkIp({ family: 4, value: 0x08080808 })).toEqual({ allowed: true });
  });
});

describe('verdict cache', () => {
  it('stays bounded and keeps verdicts right across a spray of addresses', () => {
    const filter = new PeerFilter();
    for (let i = 0; i < PEER_VERDICT_CACHE_SIZE + 500; i++) {
      const address = `11.0.${(i >>> 8) & 0xff}.${i & 0xff}`;
      if (!filter.check(address).allowed) throw new Error(`${address} denied`);
      if (filter.cachedVerdictCount > PEER_VERDICT_CACHE_SIZE) throw new Error('cache over its bound');
    }
    expect(filter.cachedVerdictCount).toBeGreaterThan(0);
    expectDenied(filter, '127.0.0.1', 'loopback');
    expectDenied(filter, '127.0.0.1', 'loopback');
    expectDenied(filter, 'fe80::1%eth0', 'invalid');
    expectDenied(filter, 'fe80::1%eth0', 'invalid');
  });
});
