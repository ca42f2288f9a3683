import { describe, expect, it } from 'vitest';
import { embeddedIpv4 } from '../../../src/turn/peer-filter/embedded-ipv4.js';
import { formatIpv4, parseIpv6 } from '../../../src/turn/peer-filter/ip-address.js';

function decode(text: string): Array<[string, boolean, string[]]> {
  return embeddedIpv4(parseIpv6(text)!).map((e) => [e.embedding, e.alias, e.addresses.map(formatIpv4)]);
}

describe('embeddedIpv4', () => {
  it.each([
    ['::ffff:127.0.0.1', [['mapped', true, ['127.0.0.1']]]],
    ['::ffff:0:7f00:1', [['siit', true, ['127.0.0.1']]]],
    ['::7f00:1', [['compatible', true, ['127.0.0.1']]]],
    ['64:ff9b::7f00:1', [['nat64', true, ['127.0.0.1']]]],
    ['64:ff9b:1::7f00:1', [['nat64_local', false, ['127.0.0.1']]]],
    ['2002:7f00:1::', [['6to4', false, ['127.0.0.1']]]],
    ['2002:c0a8:101:ab::1', [['6to4', false, ['192.168.1.1']]]],
    // RFC 4380 section 4 example shape: server 65.54.227.120, client port 40000, client 127.0.0.1.
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', [['teredo', false, ['65.54.227.120', '127.0.0.1']]]],
    ['2606:4700::5efe:a9fe:a9fe', [['isatap', false, ['169.254.169.254']]]],
    ['2606:4700::200:5efe:10.0.0.1', [['isatap', false, ['10.0.0.1']]]],
    [
      '2002:808:808:1:0:5efe:7f00:1',
      [
        ['6to4', false, ['8.8.8.8']],
        ['isatap', false, ['127.0.0.1']],
      ],
    ],
    ['2606:4700::1111', []],
    ['64:ff9b::1:0:7f00:1', []],
  ])('%s carries %j', (text, expected) => {
    expect(decode(text)).toEqual(expected);
  });
});
