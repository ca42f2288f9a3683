// The HTTP app of the surface tests (app-surface, credential-front): real routes, CORS, headers and
// metrics over dependencies that refuse every tenant (no license key exists; the entitlement is
// `none`), so a test sees what each answer carries without a store, Redis or signed tokens.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Application } from 'express';
import { SecretRing } from '../../../src/auth/index.js';
import { LocalTenantEvents } from '../../../src/entitlement/cache/index.js';
import type { EntitlementStore } from '../../../src/entitlement/store/index.js';
import { createHttpApp, type HttpAppDeps, Readiness } from '../../../src/http/index.js';
import type { LicenseService } from '../../../src/licensing/index.js';
import { silentLogger } from '../../../src/log/logger.js';

/** The app over refusing dependencies; `overrides` replace or add deps (config, metrics, ...). */
export function createRefusingApp(overrides: Partial<HttpAppDeps> = {}): Application {
  return createHttpApp({
    config: { CREDENTIAL_TTL_MAX: 3600, CORS_ORIGINS: [] },
    logger: silentLogger,
    entitlements: {
      get: async () => ({
        tenant: 't',
        active: false,
        state: 'none',
        licenses: 0,
        until: null,
        expiresAt: new Date(),
      }),
    },
    keys: { lookup: async () => null },
    licenses: {} as LicenseService,
    store: {} as EntitlementStore,
    events: new LocalTenantEvents(silentLogger),
    ring: new SecretRing(['0123456789abcdef']),
    relay: { listAllocations: () => [], closeAllocationsOfTenant: () => 0 },
    listeners: [{ transport: 'udp', host: '127.0.0.1', port: 3478 }],
    readiness: new Readiness(),
    ...overrides,
  });
}

/** Listens on a free loopback port: the server and its base URL. */
export async function listenLocally(app: Application): Promise<{ server: Server; url: string }> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Closes a server from `listenLocally`. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
