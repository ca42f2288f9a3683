// The per-IP rate-limit key of a client address. An IPv6 host usually owns a whole /64 and can
// rotate through it at will, so IPv6 clients are counted per /64; IPv4 (also IPv4-mapped IPv6)
// per address.
import { isIPv4, isIPv6 } from 'node:net';

function expandIpv6(address: string): string[] | null {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  if (tail === undefined) return left.length === 8 ? left : null;
  const missing = 8 - left.length - right.length;
  return missing < 0 ? null : [...left, ...Array<string>(missing).fill('0'), ...right];
}

/** The rate-limit key for `ip` (Express's req.ip). */
export function clientKey(ip: string | undefined): string {
  if (ip === undefined || ip === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIPv4(ip)) return ip;
  const zoneless = ip.split('%')[0]!;
  if (!isIPv6(zoneless)) return ip;
  const groups = expandIpv6(zoneless.toLowerCase());
  if (groups === null) return zoneless;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
