import { createHmac } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const compareSpy = vi.hoisted(() => ({ calls: [] as Array<[number, number]> }));

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compareSpy.calls.push([a.byteLength, b.byteLength]);
      return real.timingSafeEqual(a, b);
    },
  };
});

const { SecretRing } = await import('../../../src/auth/secret-ring.js');

const USERNAME = '1700000000:acme';
const passwordFor = (secret: string) => createHmac('sha1', secret).update(USERNAME).digest('base64');

describe('SecretRing.verifyPassword timing shape', () => {
  const ring = new SecretRing(['one', 'two', 'three']);
  beforeEach(() => {
    compareSpy.calls.length = 0;
  });

  it.each([
    ['first secret', passwordFor('one'), true],
    ['last secret', passwordFor('three'), true],
    ['no secret', passwordFor('four'), false],
    ['wrong length', 'short', false],
  ])('compares against every secret, with equal lengths, whatever matches (%s)', (_label, password, ok) => {
    expect(ring.verifyPassword(USERNAME, password)).toBe(ok);
    expect(compareSpy.calls).toHaveLength(3);
    for (const [a, b] of compareSpy.calls) expect(a).toBe(b);
  });
});
