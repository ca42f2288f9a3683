import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidr, parseCidrList } from '../../../src/turn/peer-filter/cidr.js';
import { parseIpAddress } from '../../../src/turn/peer-filter/ip-address.js';

function contains(cidrText: string, address: string): boolean {
  const parsed = parseCidr(cidrText);
  if (!parsed.ok) throw new Error(parsed.error);
  return cidrContains(parsed.cidr, parseIpAddress(address)!);
}

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['8.8.8.8', '8.8.8.8/32'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:DB8:0::/32', '2001:db8::/32'],
    ['::/0', '::/0'],
    ['::1', '::1/128'],
    [' 10.0.0.0/8 ', '10.0.0.0/8'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
    ['::ffff:8.8.8.8', '8.8.8.8/32'],
  ])('parses %j as %s', (text, canonical) => {
    const parsed = parseCidr(text);
    expect(parsed.ok && parsed.cidr.text).toBe(canonical);
  });

  it.each([
    ['10.1.0.0/8', /host bits set beyond \/8 \(network is 10\.0\.0\.0\/8\)/],
    ['10.0.0.0/33', /prefix length outside 0\.\.32/],
    ['::/129', /prefix length outside 0\.\.128/],
    ['10.0.0.0/08', /prefix length/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/-1', /prefix length/],
    ['010.0.0.0/8', /not an IPv4 or IPv6 address/],
    ['fe80::%eth0/10', /not an IPv4 or IPv6 address/],
    ['example.com', /not an IPv4 or IPv6 address/],
  ])('refuses %j', (text, message) => {
    const parsed = parseCidr(text);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error).toMatch(message);
  });
});

describe('cidrContains', () => {
  it.each([
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['172.16.0.0/12', '172.31.0.1', true],
    ['172.16.0.0/12', '172.32.0.1', false],
    ['8.8.8.8', '8.8.8.8', true],
    ['8.8.8.8', '8.8.8.9', false],
    ['fc00::/7', 'fdff::1', true],
    ['fc00::/7', 'fe00::1', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/33', '2001:db8:8000::', false],
    ['::/0', 'ffff::', true],
    ['::1', '::1', true],
    ['10.0.0.0/8', '::ffff:10.0.0.1', false], // the filter decodes embeddings, not cidrContains
    ['::/0', '10.0.0.1', false],
  ])('%s contains %s: %s', (cidr, address, expected) => {
    expect(contains(cidr, address)).toBe(expected);
  });
});

describe('parseCidrList', () => {
  it('accepts commas and whitespace, ignores empty entries', () => {
    const parsed = parseCidrList(' 10.0.0.0/8, 2001:db8::/32\n192.0.2.1 ,, ');
    expect(parsed.ok && parsed.cidrs.map((c) => c.text)).toEqual([
      '10.0.0.0/8',
      '2001:db8::/32',
      '192.0.2.1/32',
    ]);
  });

  it('reads an empty or blank value as an empty list', () => {
    expect(parseCidrList('')).toEqual({ ok: true, cidrs: [] });
    expect(parseCidrList(' , ')).toEqual({ ok: true, cidrs: [] });
  });

  it('names the bad entry', () => {
    const parsed = parseCidrList('10.0.0.0/8,10.0.0.1/8');
    expect(parsed).toEqual({
      ok: false,
      error: expect.stringMatching(/^entry 2: '10\.0\.0\.1\/8' has host bits/),
    });
  });
});
