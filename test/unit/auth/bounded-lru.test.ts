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

  it('refuses a non-positive capacity', () => {
    expect(() => new BoundedLru(0)).toThrow(RangeError);
  });
});
