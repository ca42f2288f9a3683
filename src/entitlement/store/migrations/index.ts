// The PostgreSQL store's migrations, in order. A migration is never edited once released:
// add a new one instead. Kept as TypeScript strings so the build needs no asset copying.
import { initial } from './001-initial.js';
import { reissueRequestHash } from './002-reissue-request-hash.js';
import { auditTrail } from './003-audit-trail.js';
import { reissueRequests } from './004-reissue-requests.js';

/** One numbered migration. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration, ascending by version. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', sql: initial },
  { version: 2, name: 'reissue-request-hash', sql: reissueRequestHash },
  { version: 3, name: 'audit-trail', sql: auditTrail },
  { version: 4, name: 'reissue-requests', sql: reissueRequests },
];
