import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, formatLogLine } from '../../../src/log/logger.js';
import { REDACTED, redact } from '../../../src/log/redact.js';

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  return { stream, lines };
}

describe('logger', () => {
  it('writes JSON lines with timestamp, level, component and fields', async () => {
    const { stream, lines } = capture();
    createLogger({ stream }).child({ component: 'turn' }).info('allocation created', { allocation: 'a1' });
    await new Promise((r) => setImmediate(r));
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      level: 'info',
      component: 'turn',
      message: 'allocation created',
      allocation: 'a1',
    });
    expect(typeof entry.timestamp).toBe('string');
  });

  it('never writes secrets, JWTs, license keys or bearer headers', async () => {
    const { stream, lines } = capture();
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl';
    const key = 'lk_abcdef0123456789.QmFzZTY0U2VjcmV0VmFsdWVUaGF0SXNMb25nRW5vdWdoMTIz';
    createLogger({ stream }).warn(`bad token ${jwt} for ${key}`, {
      password: 'hunter2-password',
      credential: 'cred-value',
      headers: { authorization: `Bearer ${jwt}` },
      note: `Authorization: Bearer ${jwt}`,
      keyId: 'lk_abcdef0123456789',
    });
    await new Promise((r) => setImmediate(r));
    const text = lines.join('\n');
    expect(text).not.toContain('hunter2-password');
    expect(text).not.toContain('cred-value');
    expect(text).not.toContain('c2lnbmF0dXJlLXZhbHVl');
    expect(text).not.toContain('QmFzZTY0U2VjcmV0');
    expect(text).toContain('lk_abcdef0123456789');
    expect(JSON.parse(lines[0]!).keyId).toBe('lk_abcdef0123456789');
  });

  it('writes keys in sorted order; the call wins over the child; a message field is appended', () => {
    const { stream, lines } = capture();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    createLogger({ stream })
      .child({ component: 'c', z: 1 })
      .info('hi', {
        component: 'over',
        big: 12n,
        d: new Date(0),
        u: undefined,
        arr: [undefined, () => 1],
        o: cyclic,
        message: 'extra',
        level: 'x',
        timestamp: 't',
      });
    // What the winston JSON format wrote for the same call (the format this logger replaced).
    expect(lines[0]).toBe(
      '{"arr":[null,null],"big":"12","component":"over","d":{},"level":"info","message":"hi extra",' +
        '"o":{"a":1,"self":{"a":1,"self":{"a":1,"self":{"a":1,"self":{"a":1,"self":{"a":1,"self":' +
        '{"a":1,"self":{"a":1,"self":"[Circular]"}}}}}}}},"timestamp":"t","z":1}',
    );
    expect(
      formatLogLine(
        'info',
        'plain',
        { n: null, e: new Error('boom'), nested: { b: 2, a: [{ d: 1, c: 2 }] } },
        new Date(0),
      ),
    ).toBe(
      '{"e":{"message":"boom","name":"Error"},"level":"info","message":"plain","n":null,' +
        '"nested":{"a":[{"c":2,"d":1}],"b":2},"timestamp":"1970-01-01T00:00:00.000Z"}',
    );
  });

  it('drops entries below its level and writes one line per entry', () => {
    const { stream, lines } = capture();
    const logger = createLogger({ stream, level: 'warn' });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((line) => JSON.parse(line).message)).toEqual(['w', 'e']);
    expect(formatLogLine('debug', 'm', undefined, new Date(0))).toBe(
      '{"level":"debug","message":"m","timestamp":"1970-01-01T00:00:00.000Z"}',
    );
  });

  it('redacts nested secret fields and summarises buffers', () => {
    expect(redact({ a: { secret: 's', ok: 1 }, b: Buffer.alloc(3) })).toEqual({
      a: { secret: REDACTED, ok: 1 },
      b: '<3 bytes>',
    });
  });
});
