import type { Command } from 'commander';

/** support-periods, entitlement, reissue-due (DOMAIN.md CLI contract). Owned by the rules work. */
export function registerRuleCommands(_program: Command): void {}
