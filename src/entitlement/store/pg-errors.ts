// Maps node-postgres failures to store errors with stable codes. Constraint names come from
// the migrations; connection-level failures become `store_unavailable` so the gate can fail
// closed with `entitlement_unavailable` (DESIGN.md).
import { StoreError } from './errors.js';

interface PgLikeError {
  code?: string;
  constraint?: string;
  message?: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EPIPE',
  'EAI_AGAIN',
]);

/** True for SQLSTATEs and socket errors that mean "the database is not reachable right now". */
function isUnavailable(err: PgLikeError): boolean {
  const code = err.code ?? '';
  if (NETWORK_CODES.has(code)) return true;
  // Class 08: connection exception; 57P01-57P03: shutdown / cannot connect now; 53300: too many connections.
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') {
    return true;
  }
  const message = err.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}

/** The store error for a pg failure, or the failure itself when it has no stable meaning. */
export function mapPgError(err: unknown): unknown {
  if (err instanceof StoreError || typeof err !== 'object' || err === null) return err;
  const pg = err as PgLikeError;
  if (pg.code === '23505') {
    if (pg.constraint === 'license_keys_pkey') {
      return new StoreError('key_conflict', 'a license key with this id already exists', { cause: err });
    }
    if (pg.constraint === 'license_keys_one_active') {
      return new StoreError('active_key_exists', 'the tenant already has an active license key', {
        cause: err,
      });
    }
    if (pg.constraint === 'orders_pkey') {
      return new StoreError('order_conflict', 'an order with this id was imported concurrently', {
        cause: err,
      });
    }
  }
  if (pg.code === '23503' && pg.constraint === 'license_keys_tenant_id_fkey') {
    return new StoreError('unknown_tenant', 'unknown tenant: import its orders first', { cause: err });
  }
  if (isUnavailable(pg)) {
    return new StoreError('store_unavailable', `PostgreSQL is unavailable: ${pg.message ?? pg.code}`, {
      cause: err,
    });
  }
  return err;
}
