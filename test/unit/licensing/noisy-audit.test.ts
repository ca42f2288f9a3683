import { describe, expect, it } from 'vitest';
import type { NewAuditRecord } from '../../../src/entitlement/store/index.js';
import { NoisyAudit, type NoisyEvent } from '../../../src/licensing/noisy-audit.js';

function recorder(fail = false) {
  const written: NewAuditRecord[] = [];
  return {
    written,
    store: {
      async recordAudit(records: readonly NewAuditRecord[]) {
        if (fail) throw new Error('store down (test)');
        written.push(...records);
      },
    },
  };
}

const refusal = (keyId: string, client = '192.0.2.1', route = 'POST /v1/ice-servers'): NoisyEvent => ({
  action: 'revoked_key_refused',
  tenant: 'acme',
  keyId,
  client,
  route,
});

describe('NoisyAudit', () => {
  it('stores records in the order they were noted, even when the store answers the first one last', async () => {
    const stored: string[] = [];
    let calls = 0;
    const store = {
      async recordAudit(records: readonly NewAuditRecord[]) {
        // The first write is slow, the next ones fast: concurrent writes would land swapped.
        const delay = calls++ === 0 ? 30 : 0;
        await new Promise((resolve) => setTimeout(resolve, delay));
        stored.push(...records.map((r) => r.keyId ?? ''));
      },
    };
    const audit = new NoisyAudit({
      store,
      clock: () => Date.parse('2027-05-25T03:00:00Z'),
      windowMs: 60_000,
    });
    audit.note(refusal('lk_first'));
    audit.note(refusal('lk_second'));
    audit.note(refusal('lk_third'));
    await audit.idle();
    expect(stored).toEqual(['lk_first', 'lk_second', 'lk_third']);
    await audit.close();
  });

  it('writes the first event of a key at once and the rest of its window as one summary', async () => {
    let now = Date.parse('2027-05-25T03:00:00Z');
    const { written, store } = recorder();
    const audit = new NoisyAudit({ store, clock: () => now, windowMs: 60_000 });
    audit.note(refusal('lk_a'));
    await audit.idle();
    expect(written).toEqual([
      {
        at: new Date(now),
        tenant: 'acme',
        action: 'revoked_key_refused',
        outcome: 'refused',
        actor: 'key:lk_a',
        client: '192.0.2.1',
        keyId: 'lk_a',
        details: { route: 'POST /v1/ice-servers', count: 1 },
      },
    ]);
    // 1,000 more in the window, from 20 addresses: nothing more is written until the window ends.
    for (let i = 0; i < 1000; i++) {
      now += 10;
      audit.note(
        refusal(
          'lk_a',
          `198.51.100.${i % 20}`,
          i % 2 === 0 ? 'POST /v1/ice-servers' : 'POST /v1/license-keys/reissue',
        ),
      );
    }
    await audit.idle();
    expect(written).toHaveLength(1);
    now += 60_000;
    audit.note(refusal('lk_a'));
    await audit.idle();
    expect(written).toHaveLength(3);
    expect(written[1]).toMatchObject({
      action: 'revoked_key_refused',
      outcome: 'refused',
      keyId: 'lk_a',
      client: null,
      details: {
        summary: true,
        count: 1000,
        firstAt: new Date(Date.parse('2027-05-25T03:00:00.010Z')).toISOString(),
        routes: ['POST /v1/ice-servers', 'POST /v1/license-keys/reissue'],
      },
    });
    expect(written[1]?.details.clients).toHaveLength(10);
    // The next window opened with an immediate record again.
    expect(written[2]).toMatchObject({ details: { count: 1 } });
    await audit.close();
    expect(written).toHaveLength(3);
  });

  it('keeps keys and actions apart, and puts keys beyond maxKeys into one overflow summary', async () => {
    const now = Date.parse('2027-05-25T03:00:00Z');
    const { written, store } = recorder();
    const audit = new NoisyAudit({ store, clock: () => now, maxKeys: 2 });
    audit.note(refusal('lk_a'));
    audit.note({ ...refusal('lk_a'), action: 'reissue_replayed', details: { newKeyId: 'lk_b' } });
    for (const k of ['lk_c', 'lk_d', 'lk_e', 'lk_c']) audit.note(refusal(k));
    await audit.idle();
    expect(written.map((r) => [r.action, r.keyId, r.outcome])).toEqual([
      ['revoked_key_refused', 'lk_a', 'refused'],
      ['reissue_replayed', 'lk_a', 'ok'],
    ]);
    expect(written[1]?.details).toEqual({ newKeyId: 'lk_b', route: 'POST /v1/ice-servers', count: 1 });
    await audit.close();
    expect(written[2]).toMatchObject({
      tenant: null,
      keyId: null,
      actor: 'keys:overflow',
      details: { summary: true, count: 4 },
    });
    expect(written).toHaveLength(3);
  });

  it('reports a record the store refused and keeps going', async () => {
    const errors: unknown[] = [];
    const { store } = recorder(true);
    const audit = new NoisyAudit({ store, onError: (e) => errors.push(e) });
    audit.note(refusal('lk_a'));
    await audit.close();
    expect(errors).toHaveLength(1);
  });
});
