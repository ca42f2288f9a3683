// The CLI writes to the store directly; with REDIS_URL set it also tells the running fleet, on
// the same channel and in the same message shape as the nodes' own bus (RedisTenantEvents), so
// every node drops its cached answers and cuts a revoked key's allocations within a second,
// exactly as after an admin API call (issue 4). In embedded mode (no Redis, no PostgreSQL), the
// change is appended to DATA_DIR's notice file, which the node sharing that DATA_DIR reads within
// a second (file-tenant-notices.ts). With PostgreSQL and no Redis, nodes see it when their cached
// answers expire, and the command says so, on stderr.
import { appendTenantNotices } from '../entitlement/cache/file-tenant-notices.js';
import { TENANT_CHANGED_CHANNEL, type TenantChange } from '../entitlement/cache/tenant-events.js';
import { DEFAULT_REDIS_PREFIX } from '../entitlement/service/entitlement-runtime.js';
import type { StoreChanges } from '../entitlement/store/store.js';
import { publishChanges } from '../http/tenant-changes.js';
import type { CliIo } from './cli-io.js';

/**
 * Tells running nodes of one write's changes: through Redis when REDIS_URL is set, else through
 * DATA_DIR's notice file. Says on stderr how they were told, or that they could not be.
 */
export async function noticeFleet(
  io: CliIo,
  tenant: string,
  changes: StoreChanges,
  issuedKeyId?: string,
): Promise<void> {
  const url = io.env['REDIS_URL'];
  if (url === undefined || url === '') {
    const databaseUrl = io.env['DATABASE_URL'];
    if (databaseUrl === undefined || databaseUrl === '') await noticeByFile(io, tenant, changes, issuedKeyId);
    else {
      io.stderr(
        'icegate: no REDIS_URL: running nodes see this change when their cached answers expire ' +
          '(at most a minute); set REDIS_URL to tell them at once\n',
      );
    }
    return;
  }
  // ioredis is loaded only here, when a command has a fleet to tell: the other commands, and a
  // node started with `icegate serve`, do without it.
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  redis.on('error', () => undefined);
  const channel = `${DEFAULT_REDIS_PREFIX}${TENANT_CHANGED_CHANNEL}`;
  let delivered = true;
  try {
    await redis.connect();
    await publishChanges(
      {
        publish: async (change: TenantChange) => {
          await redis.publish(channel, JSON.stringify({ origin: 'icegate-cli', ...change }));
        },
      },
      tenant,
      changes,
      issuedKeyId,
    );
  } catch {
    delivered = false;
  } finally {
    redis.disconnect();
  }
  if (!delivered) {
    io.stderr(
      'icegate: warning: the change is stored, but the fleet could not be told through Redis; ' +
        'nodes see it when their cached answers expire (at most a minute)\n',
    );
  }
}

async function noticeByFile(
  io: CliIo,
  tenant: string,
  changes: StoreChanges,
  issuedKeyId: string | undefined,
): Promise<void> {
  const told: TenantChange[] = [];
  await publishChanges({ publish: async (change) => void told.push(change) }, tenant, changes, issuedKeyId);
  if (told.length === 0) return;
  const dataDir = io.env['DATA_DIR'] || './data';
  try {
    const path = await appendTenantNotices(dataDir, told);
    const revoked = told.filter((c) => c.kind === 'key_revoked').length;
    io.stderr(
      `icegate: a running node using DATA_DIR=${dataDir} (without Redis) applies this within a second ` +
        `(told through ${path})${revoked > 0 ? ': the revoked key is refused and its allocations are closed' : ''}\n`,
    );
  } catch (err) {
    io.stderr(
      `icegate: warning: the change is stored, but running nodes could not be told through ${dataDir} ` +
        `(${err instanceof Error ? err.message : String(err)}); they see it when their cached answers ` +
        'expire (at most a minute)\n',
    );
  }
}
