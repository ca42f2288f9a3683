import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log/logger.js';
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

  it('redacts nested secret fields and summarises buffers', () => {
    expect(redact({ a: { secret: 's', ok: 1 }, b: Buffer.alloc(3) })).toEqual({
      a: { secret: REDACTED, ok: 1 },
      b: '<3 bytes>',
    });
  });
});

describe('logger lines', () => {
  it('writes one JSON object per line with sorted keys, the call fields over the child fields', () => {
    const { stream, lines } = capture();
    const written: string[] = [];
    stream.write = ((chunk: string) => {
      written.push(chunk);
      return true;
    }) as typeof stream.write;
    const log = createLogger({ stream }).child({ component: 'relay', tenant: 'fixed' });
    log.info('allocation started', { tenant: 'acme', bytes: 12, big: 5n, skipped: undefined });
    expect(lines).toEqual([]);
    expect(written).toHaveLength(1);
    expect(written[0]!.endsWith('}\n')).toBe(true);
    const entry = JSON.parse(written[0]!);
    expect(Object.keys(entry)).toEqual([
      'big',
      'bytes',
      'component',
      'level',
      'message',
      'tenant',
      'timestamp',
    ]);
    expect(entry).toMatchObject({ big: '5', bytes: 12, component: 'relay', level: 'info', tenant: 'acme' });
    expect(new Date(entry.timestamp).toISOString()).toBe(entry.timestamp);
  });

  it('keeps level, message and timestamp from the call, not from fields', () => {
    const written: string[] = [];
    const stream = new PassThrough();
    stream.write = ((chunk: string) => {
      written.push(chunk);
      return true;
    }) as typeof stream.write;
    createLogger({ stream }).warn('first', { level: 'debug', message: 'second', timestamp: 'x' });
    const entry = JSON.parse(written[0]!);
    expect(entry.level).toBe('warn');
    expect(entry.message).toBe('first second');
    expect(entry.timestamp).not.toBe('x');
  });

  it('drops lines below the level and writes nested values sorted, circular ones marked', () => {
    const written: string[] = [];
    const stream = new PassThrough();
    stream.write = ((chunk: string) => {
      written.push(chunk);
      return true;
    }) as typeof stream.write;
    const log = createLogger({ stream, level: 'warn' });
    log.info('not written');
    log.debug('not written');
    const loop: Record<string, unknown> = { b: 1, a: [1, undefined, 'x'] };
    loop['self'] = loop;
    log.error('written', { nested: loop });
    expect(written).toHaveLength(1);
    // Redaction copies six levels deep; the reference cycle below that is marked, not followed.
    expect(written[0]).toContain('"nested":{"a":[1,null,"x"],"b":1,"self":{"a":[1,null,"x"]');
    expect(written[0]).toContain('"self":"[Circular]"');
  });

  it('redacts secret-named child fields once they are fixed', () => {
    const written: string[] = [];
    const stream = new PassThrough();
    stream.write = ((chunk: string) => {
      written.push(chunk);
      return true;
    }) as typeof stream.write;
    createLogger({ stream }).child({ secret: 'child-secret-value' }).info('x');
    expect(written[0]).not.toContain('child-secret-value');
    expect(JSON.parse(written[0]!).secret).toBe(REDACTED);
  });
});
