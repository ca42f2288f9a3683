// `icegate serve`: runs a node, exactly as `npm start` does (package.json's start script is
// `icegate serve` with the same Node flag). The node is loaded only for this command, so the
// other commands start without the relay's modules.
import type { Command } from 'commander';

/** Registers serve. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'run the relay and the HTTP API (what `npm start` runs); configuration from the environment (README)',
    )
    .action(async () => {
      const { serve } = await import('../main.js');
      try {
        await serve();
      } catch (err) {
        throw new Error(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
}
