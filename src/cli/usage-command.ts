// `icegate usage --from --to [--format json|csv]` (issue 6): per-tenant relay usage per JST day
// from the configured store (DATABASE_URL, else the file store in DATA_DIR). Nodes add their
// counts to the store every minute and at shutdown, so the last minute of running nodes is not
// in it yet; `GET /v1/admin/usage?source=live` on a node also shows the fleet's live view.
import type { Command } from 'commander';
import { jstDateOf } from '../entitlement/rules/index.js';
import { openStore } from '../entitlement/store/index.js';
import { buildUsageReport, parseUsageRange, usageCsv } from '../usage/index.js';
import { type CliIo, jsonText, processIo } from './cli-io.js';
import { storeSettingsFromEnv } from './store-commands.js';

function codedMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[a-z_]+$/.test(code) ? `${code}: ${err.message}` : err.message;
}

/** Registers `icegate usage`. */
export function registerUsageCommand(program: Command, io: CliIo = processIo): void {
  program
    .command('usage')
    .description('print bytes relayed and allocation-seconds per tenant per JST day, from the store')
    .option('--from <date>', 'first JST day, YYYY-MM-DD (default: today in JST)')
    .option('--to <date>', 'last JST day, inclusive (default: --from); at most 366 days')
    .option('--format <format>', 'json or csv', 'json')
    .action(async (opts: { from?: string; to?: string; format: string }) => {
      if (opts.format !== 'json' && opts.format !== 'csv') {
        throw new Error(`invalid_format: --format must be json or csv, got ${JSON.stringify(opts.format)}`);
      }
      const from = opts.from ?? jstDateOf(new Date());
      let range: { from: string; to: string };
      try {
        range = parseUsageRange(from, opts.to ?? from);
      } catch (err) {
        throw new Error(codedMessage(err));
      }
      const settings = storeSettingsFromEnv(io.env);
      const store = await openStore(settings.store).catch((err: unknown) => {
        throw new Error(codedMessage(err));
      });
      try {
        const rows = await store.usage(range.from, range.to);
        io.stdout(
          opts.format === 'csv'
            ? usageCsv(rows)
            : jsonText(buildUsageReport(range.from, range.to, 'store', rows)),
        );
      } catch (err) {
        throw new Error(codedMessage(err));
      } finally {
        await store.close();
      }
    });
}
