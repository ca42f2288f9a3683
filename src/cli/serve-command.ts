// `icegate serve`: runs a node, exactly as `npm start` does (package.json's start script is
// `icegate serve` with the same Node flags). The node is loaded only for this command, so the
// other commands start without the relay's modules; and a bare `icegate serve` (runServe) starts
// it without commander and the other commands' modules, which a node would otherwise keep
// resident for its lifetime.
import type { Command } from 'commander';
import { type CliIo, EXIT_FAILURE, failureLine } from './cli-io.js';

async function startNode(): Promise<void> {
  const { serve } = await import('../main.js');
  try {
    await serve();
  } catch (err) {
    throw new Error(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Registers serve. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'run the relay and the HTTP API (what `npm start` runs); configuration from the environment (README)',
    )
    .action(startNode);
}

/**
 * `icegate serve` with no other argument, without building the command line: resolves to the
 * exit code runCli would give (0 started, 1 failed to start, the reason on stderr).
 */
export async function runServe(io: CliIo): Promise<number> {
  try {
    await startNode();
    return 0;
  } catch (err) {
    io.stderr(failureLine(err));
    return EXIT_FAILURE;
  }
}
