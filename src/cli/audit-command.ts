// `icegate audit [--tenant T] [--from I] [--to I] [--after N] [--limit N]` (issue 15): one page of
// the audit trail of tenant and license-key operations from the configured store, oldest first,
// as JSON `{records, next}`; pass `next` as --after for the following page.
import type { Command } from 'commander';
import { parseInstant } from '../entitlement/rules/index.js';
import { AUDIT_PAGE_MAX, type AuditQuery, auditRecordJson, openStore } from '../entitlement/store/index.js';
import { type CliIo, jsonText, processIo } from './cli-io.js';
import { storeSettingsFromEnv } from './store-commands.js';

function codedMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[a-z_]+$/.test(code) ? `${code}: ${err.message}` : err.message;
}

function instantOption(text: string | undefined, name: string): Date | undefined {
  if (text === undefined) return undefined;
  try {
    return parseInstant(text);
  } catch (err) {
    throw new Error(`invalid_audit_query: ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function wholeOption(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new Error(`invalid_audit_query: ${name} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

interface AuditOptions {
  tenant?: string;
  from?: string;
  to?: string;
  after?: string;
  limit?: string;
}

/** Registers `icegate audit`. */
export function registerAuditCommand(program: Command, io: CliIo = processIo): void {
  program
    .command('audit')
    .description('print a page of the audit trail of tenant and license-key operations (JSON, oldest first)')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--from <instant>', 'records at or after this ISO-8601 instant')
    .option('--to <instant>', 'records before this ISO-8601 instant')
    .option('--after <seq>', 'the `next` of the previous page')
    .option('--limit <n>', `records per page, 1-${AUDIT_PAGE_MAX} (default 100)`)
    .action(async (opts: AuditOptions) => {
      const from = instantOption(opts.from, '--from');
      const to = instantOption(opts.to, '--to');
      const after = wholeOption(opts.after, '--after', 0, Number.MAX_SAFE_INTEGER);
      const limit = wholeOption(opts.limit, '--limit', 1, AUDIT_PAGE_MAX);
      const query: AuditQuery = {
        ...(opts.tenant === undefined ? {} : { tenant: opts.tenant }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(after === undefined ? {} : { after }),
        ...(limit === undefined ? {} : { limit }),
      };
      const store = await openStore(storeSettingsFromEnv(io.env).store).catch((err: unknown) => {
        throw new Error(codedMessage(err));
      });
      try {
        const page = await store.listAudit(query);
        io.stdout(jsonText({ records: page.records.map(auditRecordJson), next: page.next }));
      } catch (err) {
        throw new Error(codedMessage(err));
      } finally {
        await store.close();
      }
    });
}
