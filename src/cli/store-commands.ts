// `icegate import`, `icegate license issue|reissue|revoke`, `icegate tenant show`: the
// operator's commands over the configured entitlement store (issue 3). Output is JSON; a
// license key's full text is printed once, by issue and reissue, and nowhere else.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { computeTimeline, entitlementAt, parseInstant } from '../entitlement/rules/index.js';
import {
  type AuditContext,
  type EntitlementStore,
  isStoreError,
  type OpenStoreOptions,
  openStore,
} from '../entitlement/store/index.js';
import { isKeyId, LicenseService, parseLicenseKey } from '../licensing/index.js';
import { type CliIo, jsonText, processIo } from './cli-io.js';
import { noticeFleet } from './fleet-notice.js';
import { readOrderHistoryFile } from './rule-commands.js';

/** What the store commands take from the environment. */
export interface StoreCommandSettings {
  store: OpenStoreOptions;
  graceDays: number;
}

/**
 * The store commands' settings from the environment, the only place they are read:
 * DATABASE_URL (PostgreSQL; unset or empty: the file store), DATABASE_SCHEMA (PostgreSQL schema,
 * default 'public'), DATA_DIR (file store directory, default ./data), SUPPORT_GRACE_DAYS
 * (default 0). Meant to give way to src/config.ts once it covers these.
 */
export function storeSettingsFromEnv(env: CliIo['env']): StoreCommandSettings {
  const value = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const store: OpenStoreOptions = { dataDir: value('DATA_DIR') ?? './data' };
  const databaseUrl = value('DATABASE_URL');
  if (databaseUrl !== undefined) store.databaseUrl = databaseUrl;
  const schema = value('DATABASE_SCHEMA');
  if (schema !== undefined) store.pgSchema = schema;
  const grace = value('SUPPORT_GRACE_DAYS');
  return { store, graceDays: grace === undefined ? 0 : graceDays(grace, 'SUPPORT_GRACE_DAYS') };
}

function graceDays(text: string, source: string): number {
  if (!/^\d{1,3}$/.test(text)) {
    throw new Error(`${source} must be a whole number of days (0 or more), got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** Who runs the command, for the audit trail: `cli:<OS user>`. */
export function cliAuditContext(env: CliIo['env']): AuditContext {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers): fall back to the environment.
    user = env['USER'] ?? env['LOGNAME'];
  }
  return {
    actor: `cli:${user === undefined || user === '' ? `uid-${process.getuid?.() ?? '?'}` : user}`,
    client: null,
  };
}

/** An error's message, prefixed by its stable code when it has one, so scripts can match it. */
export function codedMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[a-z_]+$/.test(code) ? `${code}: ${err.message}` : err.message;
}

/** Opens the store, runs `work`, closes the store; failures become errors naming their code (the reissue-request commands share it). */
export async function withStore<T>(
  io: CliIo,
  work: (store: EntitlementStore, settings: StoreCommandSettings) => Promise<T>,
) {
  const settings = storeSettingsFromEnv(io.env);
  let store: EntitlementStore;
  try {
    store = await openStore(settings.store);
  } catch (err) {
    throw new Error(codedMessage(err));
  }
  try {
    return await work(store, settings);
  } catch (err) {
    throw new Error(codedMessage(err));
  } finally {
    await store.close();
  }
}

async function requireTenant(store: EntitlementStore, tenant: string) {
  const history = await store.orderHistory(tenant);
  if (history === null) throw new Error(`unknown_tenant: unknown tenant ${tenant}: import its orders first`);
  return history;
}

function atOption(text: string | undefined): Date {
  if (text === undefined) return new Date();
  try {
    return parseInstant(text);
  } catch (err) {
    throw new Error(`--at: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** `text` as one POSIX shell word, quoted only when it needs to be. */
function shellWord(text: string): string {
  return /^[\w.:@/+=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Issues a tenant's first key; a tenant that already holds one is told how to recover (a lost key
 * cannot be shown again: reissue replaces it and revokes the old one).
 */
async function issueOrExplain(store: EntitlementStore, tenant: string, server: string, audit: AuditContext) {
  try {
    return await new LicenseService(store).issue(tenant, server, new Date(), audit);
  } catch (err) {
    if (!isStoreError(err, 'active_key_exists')) throw err;
    const active = (await store.listKeys(tenant)).find((k) => k.revokedAt === null);
    throw new Error(
      `active_key_exists: tenant ${tenant} already has an active license key` +
        `${active === undefined ? '' : ` ${active.keyId}`}, and a key is shown only when it is issued. ` +
        `To get a new one (the old key is revoked at once, its live allocations closed), run: ` +
        `icegate license reissue ${shellWord(tenant)} --server ${shellWord(server)}`,
    );
  }
}

/** Registers import, license issue|reissue|revoke and tenant show. */
export function registerStoreCommands(program: Command, io: CliIo = processIo): void {
  program
    .command('import')
    .description('import one tenant order-history file into the store (idempotent by order id)')
    .argument('<file>', 'order-history JSON file {tenant, orders}')
    .action(async (file: string) => {
      const history = await readOrderHistoryFile(file);
      await withStore(io, async (store) => {
        const r = await store.importOrders(history.tenant, history.orders, {
          audit: cliAuditContext(io.env),
        });
        await noticeFleet(io, r.tenant, r.changes);
        io.stdout(
          jsonText({
            tenant: r.tenant,
            accepted: r.accepted,
            rejected: r.rejected,
            unchanged: r.unchanged,
            statusChanged: r.statusChanged,
          }),
        );
      });
    });

  const license = program.command('license').description('issue, reissue and revoke license keys');

  license
    .command('issue')
    .description("issue a tenant's license key bound to a server; prints the key once")
    .argument('<tenant>', 'tenant id')
    .requiredOption('--server <identity>', "the desknet's NEO server the key is bound to")
    .option('--key-only', 'print only the key, on one line (for KEY=$(icegate license issue ...))')
    .action(async (tenant: string, opts: { server: string; keyOnly?: boolean }) => {
      await withStore(io, async (store) => {
        const { issued, changes } = await issueOrExplain(store, tenant, opts.server, cliAuditContext(io.env));
        await noticeFleet(io, tenant, changes, issued.keyId);
        const pub = issued.record.toPublic();
        if (opts.keyOnly === true) {
          io.stdout(`${issued.reveal()}\n`);
          return;
        }
        io.stdout(
          jsonText({
            keyId: issued.keyId,
            key: issued.reveal(),
            tenant: pub.tenant,
            serverIdentity: pub.serverIdentity,
            issuedAt: pub.issuedAt,
          }),
        );
      });
    });

  license
    .command('reissue')
    .description('issue a new key bound to a new server and revoke the current one (support must be active)')
    .argument('<tenant>', 'tenant id')
    .requiredOption('--server <identity>', "the new desknet's NEO server")
    .option('--grace-days <days>', 'grace days after support ends (default: $SUPPORT_GRACE_DAYS or 0)')
    .option('--key-only', 'print only the new key, on one line')
    .action(async (tenant: string, opts: { server: string; graceDays?: string; keyOnly?: boolean }) => {
      await withStore(io, async (store, settings) => {
        const grace =
          opts.graceDays === undefined ? settings.graceDays : graceDays(opts.graceDays, '--grace-days');
        const r = await new LicenseService(store).reissue(tenant, opts.server, new Date(), {
          graceDays: grace,
          audit: cliAuditContext(io.env),
        });
        const revokedKeys = [...new Set([...r.changes.revokedKeys, ...r.revoked])];
        await noticeFleet(io, tenant, { ...r.changes, revokedKeys }, r.issued.keyId);
        if (opts.keyOnly === true) {
          io.stdout(`${r.issued.reveal()}\n`);
          return;
        }
        const pub = r.issued.record.toPublic();
        io.stdout(
          jsonText({
            keyId: r.issued.keyId,
            key: r.issued.reveal(),
            tenant: pub.tenant,
            serverIdentity: pub.serverIdentity,
            issuedAt: pub.issuedAt,
            revoked: r.revoked,
          }),
        );
      });
    });

  license
    .command('revoke')
    .description('revoke a license key by its id')
    .argument('<keyId>', 'the key id (lk_...), not the whole key')
    .action(async (keyId: string) => {
      // Never echo what was passed: it may be a whole key, secret included.
      if (parseLicenseKey(keyId) !== null) {
        throw new Error(
          'invalid_key_id: pass the key id (the part before the dot), not the whole license key',
        );
      }
      if (!isKeyId(keyId))
        throw new Error('invalid_key_id: a key id is lk_ followed by 20 characters a-z and 2-7');
      await withStore(io, async (store) => {
        const before = await store.getKey(keyId);
        const r = await new LicenseService(store).revoke(keyId, new Date(), cliAuditContext(io.env));
        const revokedKeys = [...new Set([...r.changes.revokedKeys, keyId])];
        await noticeFleet(io, r.key.tenant, { ...r.changes, revokedKeys });
        io.stdout(
          jsonText({
            keyId: r.key.keyId,
            tenant: r.key.tenant,
            revokedAt: r.key.revokedAt?.toISOString() ?? null,
            alreadyRevoked: before !== null && before.revokedAt !== null,
            revoked: r.revoked,
          }),
        );
      });
    });

  const tenantCommand = program.command('tenant').description('inspect tenants');

  tenantCommand
    .command('show')
    .description(
      'print a tenant: support periods, rejected orders, entitlement now, license keys (no secrets)',
    )
    .argument('<tenant>', 'tenant id')
    .option('--at <instant>', 'evaluate the entitlement at this ISO-8601 instant instead of now')
    .option('--grace-days <days>', 'grace days after support ends (default: $SUPPORT_GRACE_DAYS or 0)')
    .action(async (tenant: string, opts: { at?: string; graceDays?: string }) => {
      const at = atOption(opts.at);
      await withStore(io, async (store, settings) => {
        const grace =
          opts.graceDays === undefined ? settings.graceDays : graceDays(opts.graceDays, '--grace-days');
        const history = await requireTenant(store, tenant);
        const record = await store.getTenant(tenant);
        const timeline = computeTimeline(history);
        const e = entitlementAt(history, at, { graceDays: grace });
        const keys = await store.listKeys(tenant);
        io.stdout(
          jsonText({
            tenant,
            name: record?.name ?? null,
            createdAt: record?.createdAt.toISOString() ?? null,
            periods: timeline.periods,
            rejected: timeline.rejected,
            entitlement: {
              at: at.toISOString(),
              active: e.active,
              state: e.state,
              licenses: e.licenses,
              until: e.until,
            },
            keys: keys.map((k) => k.toPublic()),
          }),
        );
      });
    });
}
