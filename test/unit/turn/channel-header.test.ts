import { describe, expect, it } from 'vitest';
import { ChannelTable } from '../../../src/turn/channel-table.js';
import { PermissionTable } from '../../../src/turn/permission-table.js';

const PEER = { family: 'IPv4' as const, address: '192.0.2.7', port: 4000 };

function boundChannel(number: number) {
  const permissions = new PermissionTable();
  const permission = permissions.install(PEER.address, 10_000);
  return new ChannelTable().bind(number, PEER, permission, 10_000);
}

describe('ChannelBinding.headerFor (RFC 8656 section 12.4)', () => {
  it('writes the channel number and the payload length', () => {
    const header = boundChannel(0x4001).headerFor(120);
    expect([...header]).toEqual([0x40, 0x01, 0x00, 120]);
  });

  it('reuses one header for a flow of equal-sized packets', () => {
    const binding = boundChannel(0x4001);
    expect(binding.headerFor(160)).toBe(binding.headerFor(160));
  });

  it('makes a new header for another length and never rewrites an old one', () => {
    const binding = boundChannel(0x7ffe);
    const first = binding.headerFor(160);
    const second = binding.headerFor(1200);
    expect(second).not.toBe(first);
    // A send dgram could not finish at once still refers to `first`: it must keep its length.
    expect([...first]).toEqual([0x7f, 0xfe, 0x00, 160]);
    expect([...second]).toEqual([0x7f, 0xfe, 1200 >> 8, 1200 & 0xff]);
    expect([...binding.headerFor(160)]).toEqual([0x7f, 0xfe, 0x00, 160]);
  });
});
