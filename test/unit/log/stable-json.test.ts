// The logger's JSON writer gives exactly the text of winston's own json format (logform over
// safe-stable-stringify), for plain lines and for every kind of value a field may hold.

import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { stableJson } from '../../../src/log/stable-json.js';

const MESSAGE = Symbol.for('message');

function winstonJson(info: Record<string, unknown>): string {
  const json = winston.format.json();
  const out = json.transform(
    { ...info, level: String(info['level']), message: info['message'] },
    json.options,
  );
  return (out as Record<symbol, string>)[MESSAGE]!;
}

function same(info: Record<string, unknown>): void {
  expect(stableJson(info)).toBe(winstonJson(info));
}

describe('stableJson', () => {
  it('writes a line of plain values as winston does, keys sorted', () => {
    same({
      level: 'info',
      message: 'allocation started',
      timestamp: '2026-12-07T07:00:00.000Z',
      component: 'relay',
      allocation: 17,
      tenant: 'bench',
      transport: 'udp',
      relayed: '127.0.0.1:45000',
      expiresInSeconds: 600,
      ok: true,
      nothing: null,
      gone: undefined,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      negativeZero: -0,
      fn: () => 1,
      sym: Symbol('s'),
      Zeta: 1,
      alpha: 'quote " backslash \\ control \u0001 lone \ud800 pair \ud83d\ude00 é',
    });
  });

  it('writes nested values, arrays, bigints, dates, toJSON, cycles and index-like keys as winston does', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    const shared = { z: 1, a: 2 };
    same({
      level: 'warn',
      message: 'm',
      nested: { b: { d: 1, c: [3, { y: 1, x: 2 }] }, a: 'x' },
      list: [1, 'two', null, undefined, () => 0, { b: 1, a: 2 }, []],
      big: 12345678901234567890n,
      bigs: [1n, { n: 2n }],
      when: new Date(0),
      custom: { toJSON: () => ({ k2: 1, k1: 2 }) },
      cyclic,
      twice: [shared, shared],
      counts: { '200': 5, '10': 1, '2': 7, b: 1 },
      '10': 'index-like top-level key',
      '9': 'another',
      bytes: new Uint8Array([3, 1, 2]),
      emptyBytes: new Uint8Array(0),
      empty: {},
    });
  });

  it('writes what the logger writes for an ordinary line', () => {
    same({ level: 'error', message: 'x', component: 'y', error: 'z', requestId: 'r' });
  });
});
