// The relay policy of the composition root: entitlement first, then the license key a
// credential names (revoked or unknown keys refused), then the fleet-wide quota (486), with
// the per-node limit as the fallback when the fleet ledger cannot answer.
import { describe, expect, it } from 'vitest';
import type { FleetAdmission } from '../../../src/composition/fleet-quota.js';
import { createRelayPolicy, FLEET_QUOTA_REASON } from '../../../src/composition/relay-policy.js';
import type { EntitlementAnswer } from '../../../src/entitlement/service/index.js';
import { silentLogger } from '../../../src/log/logger.js';
import type { AuthorizeContext, AuthorizeMethod } from '../../../src/turn/index.js';

const KEY_ID = 'lk_aaaaaaaaaaaaaaaaaaaa';
const OPAQUE = `${KEY_ID}.abcdefghijkl`;

function answer(
  active: boolean,
  licenses: number,
  state: EntitlementAnswer['state'] = active ? 'active' : 'expired',
) {
  return { tenant: 'acme', active, state, licenses, until: null, expiresAt: new Date(0) };
}

function context(method: AuthorizeMethod, opaque: string | null = OPAQUE): AuthorizeContext {
  return {
    method,
    transport: 'udp',
    client: { family: 'IPv4', address: '127.0.0.1', port: 5000 },
    opaque: opaque ?? undefined,
  };
}

function policy(options: {
  entitlement?: EntitlementAnswer;
  key?: { tenant: string; revokedAt: Date | null } | null;
  fleet?: FleetAdmission;
  /** The sources also answer synchronously from memory (peek), as the caches do on a hit. */
  inMemory?: boolean;
  perUser?: number;
}) {
  const admitted: number[] = [];
  const entitlement = () => options.entitlement ?? answer(true, 3);
  const key = () => (options.key === undefined ? { tenant: 'acme', revokedAt: null } : options.key);
  const built = createRelayPolicy({
    entitlements: {
      get: async () => entitlement(),
      ...(options.inMemory ? { peek: entitlement } : {}),
    },
    allocationsPerLicense: 2,
    ...(options.perUser === undefined ? {} : { allocationsPerUser: options.perUser }),
    checkPeer: () => ({ allowed: true }),
    logger: silentLogger,
    keys: {
      lookup: async () => key(),
      ...(options.inMemory ? { peek: key } : {}),
    },
    ...(options.fleet === undefined
      ? {}
      : {
          fleetQuota: {
            admit: async (_tenant: string, _context: AuthorizeContext, limit: number) => {
              admitted.push(limit);
              return options.fleet!;
            },
          },
        }),
  });
  return { authorize: built.authorize!, admitted };
}

describe('createRelayPolicy', () => {
  it('allows an entitled tenant with licenses x factor allocations', async () => {
    const { authorize } = policy({});
    expect(await authorize('acme', 'u', context('allocate'))).toEqual({ allowed: true, maxAllocations: 6 });
  });

  it('refuses a tenant without support, naming why', async () => {
    expect(
      await policy({ entitlement: answer(false, 0) }).authorize('acme', 'u', context('refresh')),
    ).toEqual({
      allowed: false,
      reason: 'support_expired',
    });
    const notStarted = policy({ entitlement: answer(false, 0, 'not_started') });
    expect(await notStarted.authorize('acme', 'u', context('allocate'))).toMatchObject({
      reason: 'support_not_started',
    });
  });

  it('refuses credentials of a revoked, unknown or foreign key on Allocate and Refresh', async () => {
    const revoked = policy({ key: { tenant: 'acme', revokedAt: new Date() } });
    for (const method of ['allocate', 'refresh'] as const) {
      expect(await revoked.authorize('acme', 'u', context(method))).toEqual({
        allowed: false,
        reason: 'license_revoked',
      });
    }
    expect(await policy({ key: null }).authorize('acme', 'u', context('allocate'))).toMatchObject({
      reason: 'unknown_license',
    });
    const foreign = policy({ key: { tenant: 'globex', revokedAt: null } });
    expect(await foreign.authorize('acme', 'u', context('allocate'))).toMatchObject({
      reason: 'unknown_license',
    });
  });

  it('judges credentials without a key id (an operator using the TURN secret) on the tenant alone', async () => {
    const revoked = policy({ key: { tenant: 'acme', revokedAt: new Date() } });
    expect(await revoked.authorize('acme', 'u', context('allocate', null))).toMatchObject({
      allowed: true,
    });
  });

  it('answers 486 when the fleet is full, asks the fleet only on Allocate, and falls back when it cannot answer', async () => {
    const full = policy({ fleet: { result: 'full', count: 6, scope: 'tenant' } });
    expect(await full.authorize('acme', 'u', context('allocate'))).toEqual({
      allowed: false,
      reason: FLEET_QUOTA_REASON,
      code: 486,
    });
    expect(full.admitted).toEqual([6]);
    expect(await full.authorize('acme', 'u', context('refresh'))).toMatchObject({ allowed: true });
    expect(full.admitted).toEqual([6]);
    const unknown = policy({ fleet: { result: 'unknown' } });
    expect(await unknown.authorize('acme', 'u', context('allocate'))).toEqual({
      allowed: true,
      maxAllocations: 6,
    });
  });

  it('decides at once from memory (no promise) what the lookups decide, the fleet ledger excepted', async () => {
    const scenarios: Parameters<typeof policy>[0][] = [
      {},
      { perUser: 4 },
      { entitlement: answer(false, 0) },
      { entitlement: answer(false, 0, 'not_started') },
      { key: { tenant: 'acme', revokedAt: new Date() } },
      { key: null },
      { key: { tenant: 'globex', revokedAt: null } },
    ];
    for (const scenario of scenarios) {
      for (const ctx of [context('allocate'), context('refresh'), context('allocate', null)]) {
        const slow = await policy(scenario).authorize('acme', 'u', ctx);
        const fast = policy({ ...scenario, inMemory: true }).authorize('acme', 'u', ctx);
        expect(fast).not.toBeInstanceOf(Promise);
        expect(fast).toEqual(slow);
      }
    }
    // With the fleet ledger an Allocate still asks it (a promise); a Refresh does not.
    const fleet = policy({ fleet: { result: 'full', count: 6, scope: 'tenant' }, inMemory: true });
    const allocate = fleet.authorize('acme', 'u', context('allocate'));
    expect(allocate).toBeInstanceOf(Promise);
    expect(await allocate).toEqual({ allowed: false, reason: FLEET_QUOTA_REASON, code: 486 });
    expect(fleet.authorize('acme', 'u', context('refresh'))).toEqual({ allowed: true, maxAllocations: 6 });
    expect(fleet.admitted).toEqual([6]);
  });
});
