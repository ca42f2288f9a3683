// The `icegate` program and its exit-code convention: 0 done, 1 a failure the message names
// (bad file, bad date, invalid order), 2 a usage error commander already reported.
import { Command, CommanderError } from 'commander';
import { icegateVersion } from '../version.js';
import { registerAdminTokenCommand } from './admin-token-command.js';
import { registerAuditCommand } from './audit-command.js';
import { type CliIo, EXIT_FAILURE, failureLine } from './cli-io.js';
import { registerReissueRequestCommands } from './reissue-request-commands.js';
import { registerRuleCommands } from './rule-commands.js';
import { registerServeCommand } from './serve-command.js';
import { registerStoreCommands } from './store-commands.js';
import { registerUsageCommand } from './usage-command.js';

/** Exit code of a command line that could not be parsed (unknown option, missing argument). */
export const EXIT_USAGE = 2;
export { EXIT_FAILURE };

/** Builds the icegate program with every command group registered. */
export function buildProgram(io: CliIo): Command {
  const program = new Command();
  program
    .name('icegate')
    .description('icegate: entitlement-gated STUN/TURN relay')
    .version(icegateVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    // Set before the groups register so every subcommand inherits it.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
    });
  registerServeCommand(program);
  registerRuleCommands(program, io);
  registerStoreCommands(program, io);
  registerUsageCommand(program, io);
  registerAdminTokenCommand(program, io);
  registerAuditCommand(program, io);
  registerReissueRequestCommands(program, io);
  return program;
}

/** Runs icegate with the arguments after the program name; resolves to the exit code. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...args], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    io.stderr(failureLine(err));
    return EXIT_FAILURE;
  }
}
