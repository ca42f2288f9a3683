import { describe, expect, it } from 'vitest';
import {
  emptyState,
  parseDocument,
  serialiseDocument,
  usageKey,
} from '../../../src/entitlement/store/file-document.js';

/** A key as version 1 documents (before requestHash) wrote it. */
const v1Key = {
  keyId: 'lk_old',
  tenant: 'acme',
  serverIdentity: 'neo.example.jp',
  secret: 'sec',
  issuedAt: '2027-01-01T00:00:00.000Z',
  revokedAt: null,
  replacedBy: null,
};

describe('file document', () => {
  it('round-trips a state, including odd tenant ids', () => {
    const state = emptyState();
    const createdAt = new Date('2027-01-01T00:00:00Z');
    for (const id of ['acme', '__proto__', 'constructor']) {
      state.tenants.set(id, { id, name: id === 'acme' ? 'Acme' : null, createdAt });
      state.orders.set(
        id,
        new Map([
          [
            'o-1',
            {
              tenant: id,
              id: 'o-1',
              kind: 'initial',
              receivedAt: '2026-11-24T01:00:00.000Z',
              licenses: 5,
              importedAt: createdAt,
              status: 'rejected',
              rejection: { code: 'already_initialised', message: 'm' },
            },
          ],
        ]),
      );
    }
    state.keys.set('k-1', {
      keyId: 'k-1',
      tenant: 'acme',
      serverIdentity: 's',
      secret: 'sec',
      issuedAt: createdAt,
      revokedAt: null,
      replacedBy: null,
      requestHash: 'ab'.repeat(32),
      replaces: null,
    });
    state.keys.set('k-2', {
      keyId: 'k-2',
      tenant: 'acme',
      serverIdentity: 's2',
      secret: 'sec2',
      issuedAt: createdAt,
      revokedAt: null,
      replacedBy: null,
      requestHash: null,
      replaces: 'k-1',
    });
    state.audit = [
      {
        seq: 1,
        at: createdAt,
        tenant: '__proto__',
        action: 'key_reissued',
        outcome: 'ok',
        actor: 'key:k-1',
        client: '::1',
        keyId: 'k-2',
        details: { server: 's2', revoked: ['k-1'], replaces: 'k-1', idempotencyKey: false },
      },
      {
        seq: 2,
        at: createdAt,
        tenant: null,
        action: 'revoked_key_refused',
        outcome: 'refused',
        actor: 'keys:overflow',
        client: null,
        keyId: null,
        details: { summary: true, count: 7 },
      },
    ];
    state.usage.set(usageKey('acme', '2027-01-01'), {
      tenant: 'acme',
      day: '2027-01-01',
      bytesRelayed: 1,
      allocationSeconds: 2,
    });
    const again = parseDocument(serialiseDocument(state), 'doc');
    expect(again).toEqual(state);
    expect(Object.getPrototypeOf(again.tenants)).toBe(Map.prototype);
    expect(again.orders.get('__proto__')?.get('o-1')?.certificate).toBeUndefined();
  });

  it('reads a version 1 document (written before request hashes) and writes it back as version 3', () => {
    const v1 = JSON.stringify({
      format: 'icegate-entitlements',
      version: 1,
      tenants: [{ id: 'acme', name: null, createdAt: '2027-01-01T00:00:00.000Z' }],
      orders: [],
      keys: [v1Key],
      usage: [],
    });
    const state = parseDocument(v1, 'doc');
    expect(state.keys.get('lk_old')).toEqual({
      ...v1Key,
      issuedAt: new Date(v1Key.issuedAt),
      requestHash: null,
      replaces: null,
    });
    expect(state.audit).toEqual([]);
    const written = JSON.parse(serialiseDocument(state)) as {
      version: number;
      keys: unknown[];
      audit: unknown[];
    };
    expect(written.version).toBe(3);
    expect(written.keys).toEqual([{ ...v1Key, requestHash: null, replaces: null }]);
    expect(written.audit).toEqual([]);
  });

  it.each([
    ['not JSON', 'nope', /not valid JSON/],
    ['another format', '{"format":"x","version":1}', /not an icegate entitlement document/],
    ['a future version', '{"format":"icegate-entitlements","version":4}', /newer icegate/],
    [
      'a version 3 document without an audit trail',
      JSON.stringify({
        format: 'icegate-entitlements',
        version: 3,
        tenants: [],
        orders: [],
        keys: [],
        usage: [],
      }),
      /audit/,
    ],
    [
      'a version 2 key without requestHash',
      JSON.stringify({
        format: 'icegate-entitlements',
        version: 2,
        tenants: [],
        orders: [],
        keys: [v1Key],
        usage: [],
      }),
      /keys\.0\.requestHash/,
    ],
    [
      'a bad order kind',
      JSON.stringify({
        format: 'icegate-entitlements',
        version: 1,
        tenants: [],
        orders: [{ tenant: 't', id: 'o', kind: 'upgrade' }],
        keys: [],
        usage: [],
      }),
      /orders\.0\.kind/,
    ],
  ])('refuses %s with store_corrupt', (_name, text, message) => {
    expect(() => parseDocument(text, '/data/entitlements.json')).toThrow(
      expect.objectContaining({ code: 'store_corrupt', message: expect.stringMatching(message) }),
    );
  });
  it('reads a version 3 document without reissueRequests as an empty queue, and round-trips requests', () => {
    const bare = parseDocument(
      JSON.stringify({
        format: 'icegate-entitlements',
        version: 3,
        tenants: [],
        orders: [],
        keys: [],
        usage: [],
        audit: [],
      }),
      '/data/entitlements.json',
    );
    expect(bare.reissueRequests.size).toBe(0);
    const state = emptyState();
    const request = {
      id: 'rr_aaaaaaaaaaaaaaaaaaaa',
      tenant: 'acme',
      server: 'neo2.example.jp',
      reference: 'F-1',
      receivedAt: new Date('2027-05-25T08:00:00.001Z'),
      dueDate: '2027-05-26',
      state: 'fulfilled' as const,
      fulfilledAt: new Date('2027-05-26T01:00:00Z'),
      onTime: true,
      keyId: 'lk_new',
      cancelledAt: null,
      cancelReason: null,
    };
    state.reissueRequests.set(request.id, request);
    const text = serialiseDocument(state);
    expect(JSON.parse(text).version).toBe(3);
    expect(parseDocument(text, '/x').reissueRequests.get(request.id)).toEqual(request);
  });
});
