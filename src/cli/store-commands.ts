import type { Command } from 'commander';

/** import, license issue|reissue|revoke, tenant show. Owned by the store/licensing work. */
export function registerStoreCommands(_program: Command): void {}
