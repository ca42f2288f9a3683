import { randomFillSync } from 'node:crypto';

/** Length of a transaction id, RFC 8489 section 5. */
export const TRANSACTION_ID_LENGTH = 12;

// One randomFillSync call serves 512 transaction ids: the data path stamps a fresh id on every
// Data indication, and a syscall per packet would cost more than the rest of the encoding.
// Each pool byte is handed out once.
const POOL_SIZE = TRANSACTION_ID_LENGTH * 512;
const pool = Buffer.allocUnsafeSlow(POOL_SIZE);
let used = POOL_SIZE;

/** Writes 12 cryptographically random bytes at `offset` (RFC 8489 section 5: ids must be random). */
export function writeTransactionId(target: Buffer, offset: number): void {
  if (used + TRANSACTION_ID_LENGTH > POOL_SIZE) {
    randomFillSync(pool);
    used = 0;
  }
  pool.copy(target, offset, used, used + TRANSACTION_ID_LENGTH);
  used += TRANSACTION_ID_LENGTH;
}

/** A fresh random 12-byte transaction id, RFC 8489 section 5. */
export function newTransactionId(): Buffer {
  const id = Buffer.allocUnsafe(TRANSACTION_ID_LENGTH);
  writeTransactionId(id, 0);
  return id;
}
