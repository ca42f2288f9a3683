// The CLI writes to the store directly; with REDIS_URL set it also tells the running fleet, on
// the same channel and in the same message shape as the nodes' own bus (RedisTenantEvents), so
// every node drops its cached answers and cuts a revoked key's allocations within a second,
// exactly as after an admin API call (issue 4). Without Redis, nodes see CLI changes when
// their cached answers expire.
import { Redis } from 'ioredis';
import { TENANT_CHANGED_CHANNEL, type TenantChange } from '../entitlement/cache/tenant-events.js';
import { DEFAULT_REDIS_PREFIX } from '../entitlement/service/entitlement-runtime.js';
import type { StoreChanges } from '../entitlement/store/store.js';
import { publishChanges } from '../http/tenant-changes.js';
import type { CliIo } from './cli-io.js';

/** Publishes one write's changes to the fleet when REDIS_URL is set; warns on stderr when it cannot. */
export async function noticeFleet(
  io: CliIo,
  tenant: string,
  changes: StoreChanges,
  issuedKeyId?: string,
): Promise<void> {
  const url = io.env['REDIS_URL'];
  if (url === undefined || url === '') return;
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
