#!/usr/bin/env node
// The `icegate` command line. Each group of commands lives in its own module and registers itself.
import { Command } from 'commander';
import { registerRuleCommands } from './rule-commands.js';
import { registerStoreCommands } from './store-commands.js';

const program = new Command();
program.name('icegate').description('icegate: entitlement-gated STUN/TURN relay').showHelpAfterError();
registerRuleCommands(program);
registerStoreCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`icegate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
