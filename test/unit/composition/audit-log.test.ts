import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { auditLogListener } from '../../../src/composition/audit-log.js';
import { createLogger } from '../../../src/log/logger.js';

describe('auditLogListener', () => {
  it('logs each audit record as one JSON line with every field', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    const listen = auditLogListener(createLogger({ stream }));
    const at = new Date('2027-05-25T03:00:00Z');
    listen([
      {
        seq: 7,
        at,
        tenant: 'acme',
        action: 'key_reissued',
        outcome: 'ok',
        actor: 'key:lk_aaaaaaaaaaaaaaaaaaaa',
        client: '192.0.2.1',
        keyId: 'lk_bbbbbbbbbbbbbbbbbbbb',
        details: {
          server: 'neo2',
          revoked: ['lk_aaaaaaaaaaaaaaaaaaaa'],
          replaces: 'lk_aaaaaaaaaaaaaaaaaaaa',
        },
      },
      {
        seq: 8,
        at,
        tenant: 'acme',
        action: 'key_revoked',
        outcome: 'no_change',
        actor: 'admin',
        client: null,
        keyId: 'lk_bbbbbbbbbbbbbbbbbbbb',
        details: { revoked: [] },
      },
    ]);
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({
      level: 'info',
      message: 'audit record',
      component: 'audit',
      seq: 7,
      at: '2027-05-25T03:00:00.000Z',
      tenant: 'acme',
      action: 'key_reissued',
      outcome: 'ok',
      actor: 'key:lk_aaaaaaaaaaaaaaaaaaaa',
      client: '192.0.2.1',
      keyId: 'lk_bbbbbbbbbbbbbbbbbbbb',
      details: { server: 'neo2', revoked: ['lk_aaaaaaaaaaaaaaaaaaaa'] },
    });
    expect(JSON.parse(lines[1]!)).toMatchObject({ seq: 8, action: 'key_revoked', outcome: 'no_change' });
  });
});
