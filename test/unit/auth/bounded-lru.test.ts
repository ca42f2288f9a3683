import { describe, expect, it } from 'vitest';
import { BoundedLru } from '../../../src/auth/bounded-lru.js';

describe('BoundedLru', () => {
  it('evicts the least recently used entry at capacity', () => {
    const lru = new BoundedLru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.has('b')).toBe(false);
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
  });

  it('updates in place without evicting', () => {
    const lru = new BoundedLru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('a', 10);
    expect(lru.size).toBe(2);
    expect(lru.get('a')).toBe(10);
    expect(lru.get('b')).toBe(2);
  });

  it('keeps the order right when the newest entry is hit again and again, across clear()', () => {
    const lru = new BoundedLru<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.get('c')).toBe(3);
    expect(lru.get('c')).toBe(3);
    expect(lru.get('a')).toBe(1); // order now b, c, a
    expect(lru.get('a')).toBe(1);
    lru.set('d', 4); // evicts b
    expect(lru.has('b')).toBe(false);
    expect(lru.get('c')).toBe(3); // order a, d, c
    lru.set('e', 5); // evicts a
    expect(lru.has('a')).toBe(false);
    expect([lru.has('c'), lru.has('d'), lru.has('e')]).toEqual([true, true, true]);
    lru.clear();
    lru.set('x', 1);
    lru.set('y', 2);
    lru.set('z', 3);
    expect(lru.get('x')).toBe(1); // order y, z, x
    lru.set('w', 4); // evicts y
    expect(lru.has('y')).toBe(false);
    expect(lru.has('x')).toBe(true);
  });

  it('refuses a non-positive capacity', () => {
    expect(() => new BoundedLru(0)).toThrow(RangeError);
  });
});
