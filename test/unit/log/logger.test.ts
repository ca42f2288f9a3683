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
