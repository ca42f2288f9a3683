import { randomInt } from 'node:crypto';

/**
 * The ports of [minPort, maxPort] to try for a relay, starting at a random one and wrapping
 * around (RFC 8656 section 21.1.2 wants relayed ports hard to guess). `even` keeps even ports
 * only (EVEN-PORT); `pair` keeps ports whose successor is in the range too (the R bit).
 */
export function* portCandidates(
  minPort: number,
  maxPort: number,
  even: boolean,
  pair: boolean,
): Generator<number> {
  const step = even ? 2 : 1;
  const first = even ? minPort + (minPort % 2) : minPort;
  const last = pair ? maxPort - 1 : maxPort;
  if (last < first) return;
  const count = Math.floor((last - first) / step) + 1;
  const start = randomInt(count);
  for (let i = 0; i < count; i++) yield first + ((start + i) % count) * step;
}
