// RefusalDigest (issue 18): repeated refusals become one line per tenant, reason and interval,
// with the count and the start of the uninterrupted run of refusals ("since when").
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/log/logger.js';
import { RefusalDigest } from '../../../src/log/refusal-digest.js';

function lineLogger(lines: { level: string; message: string; fields: Record<string, unknown> }[]): Logger {
  const add =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      lines.push({ level, message, fields });
    };
  const logger: Logger = {
    error: add('error'),
    warn: add('warn'),
    info: add('info'),
    debug: add('debug'),
    child: () => logger,
  };
  return logger;
}

function digest(maxKeys?: number) {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const clock = { now: 0 };
  const d = new RefusalDigest({
    logger: lineLogger(lines),
    message: 'refused',
    intervalMs: 3_600_000,
    clock: () => clock.now,
    ...(maxKeys === undefined ? {} : { maxKeys }),
  });
  return { lines, clock, d };
}

describe('RefusalDigest', () => {
  it('writes nothing until the interval ends, then one line per tenant and reason', () => {
    const { lines, clock, d } = digest();
    for (let i = 0; i < 500; i++) d.record('busy', 'quota_exceeded', { scope: 'node' });
    d.record('busy', 'support_expired');
    d.record('other', 'quota_exceeded');
    expect(lines).toHaveLength(0);
    clock.now = 30_000;
    d.flush();
    expect(lines.map((l) => [l.fields.tenant, l.fields.reason, l.fields.count, l.fields.scope])).toEqual([
      ['busy', 'quota_exceeded', 500, 'node'],
      ['busy', 'support_expired', 1, undefined],
      ['other', 'quota_exceeded', 1, undefined],
    ]);
    d.flush();
    expect(lines).toHaveLength(3); // an interval without refusals writes nothing
    d.close();
  });

  it('keeps "since" over consecutive intervals and restarts it after a quiet one', () => {
    const { lines, clock, d } = digest();
    const at = (t: number, action: () => void) => {
      clock.now = t;
      action();
    };
    at(1_000, () => d.record('busy', 'quota_exceeded'));
    at(30_000, () => d.flush());
    at(31_000, () => d.record('busy', 'quota_exceeded'));
    at(60_000, () => d.flush());
    at(90_000, () => d.flush());
    at(95_000, () => d.record('busy', 'quota_exceeded'));
    at(120_000, () => d.flush());
    expect(lines.map((l) => l.fields.since)).toEqual([
      new Date(1_000).toISOString(),
      new Date(1_000).toISOString(),
      new Date(95_000).toISOString(),
    ]);
    d.close();
  });

  it('bounds the pairs kept per interval and reports the rest as one count', () => {
    const { lines, d } = digest(2);
    for (const tenant of ['a', 'b', 'c', 'd']) d.record(tenant, 'quota_exceeded');
    d.record('c', 'quota_exceeded');
    d.close();
    expect(lines.filter((l) => l.level === 'info').map((l) => l.fields.tenant)).toEqual(['a', 'b']);
    expect(lines.find((l) => l.level === 'warn')?.fields.others).toBe(3);
  });
});
