// `icegate reissue-requests add|list|fulfil|cancel` (issue 21): the support staff's queue of
// license-key reissues requested through the vendor's form, over the configured store, as the
// admin API serves it. `fulfil` prints the new key once (a repeat prints the request, no key) and
// tells the fleet through Redis when REDIS_URL is set, as `icegate license reissue` does.
import type { Command } from 'commander';
import { closingDaysSetting } from '../composition/reissue-queue-wiring.js';
import { parseInstant } from '../entitlement/rules/index.js';
import { reissueRequestsOf } from '../entitlement/store/index.js';
import { LicenseService, ReissueQueue, type ReissueRequestFilter } from '../licensing/index.js';
import { type CliIo, jsonText, processIo } from './cli-io.js';
import { noticeFleet } from './fleet-notice.js';
import { cliAuditContext, withStore } from './store-commands.js';

function instantOption(text: string | undefined, name: string): Date | undefined {
  if (text === undefined) return undefined;
  try {
    return parseInstant(text);
  } catch (err) {
    throw new Error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function withQueue<T>(io: CliIo, work: (queue: ReissueQueue) => Promise<T>): Promise<T> {
  return withStore(io, async (store, settings) => {
    const closingDays = closingDaysSetting(io.env['SUPPORT_CLOSING_DAYS'] || undefined);
    const queue = new ReissueQueue(
      reissueRequestsOf(store),
      new LicenseService(store, { graceDays: settings.graceDays }),
      closingDays === undefined ? {} : { closingDays },
    );
    return work(queue);
  });
}

/** Registers the reissue-requests command group. */
export function registerReissueRequestCommands(program: Command, io: CliIo = processIo): void {
  const group = program
    .command('reissue-requests')
    .description('the queue of license-key reissues requested through the form (due dates per the terms)');

  group
    .command('add')
    .description(
      'queue a request; prints it with its due date (a resubmitted --reference prints the queued one)',
    )
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--server <identity>', 'the server the new key is bound to')
    .option('--received-at <instant>', 'when the form was received, ISO-8601 with offset (default now)')
    .option('--reference <id>', "the form's own id, unique per tenant")
    .action(async (opts: { tenant: string; server: string; receivedAt?: string; reference?: string }) => {
      const receivedAt = instantOption(opts.receivedAt, '--received-at');
      const out = await withQueue(io, (queue) =>
        queue.add(
          {
            tenant: opts.tenant,
            server: opts.server,
            ...(receivedAt === undefined ? {} : { receivedAt }),
            ...(opts.reference === undefined ? {} : { reference: opts.reference }),
          },
          new Date(),
          cliAuditContext(io.env),
        ),
      );
      io.stdout(jsonText({ ...out.request, created: out.created }));
    });

  group
    .command('list')
    .description('requests ordered by due date')
    .option('--state <state>', 'pending, overdue or done (fulfilled and cancelled); default all')
    .option('--tenant <id>', 'only this tenant')
    .option('--at <instant>', 'judge overdue at this instant (default now)')
    .action(async (opts: { state?: string; tenant?: string; at?: string }) => {
      if (opts.state !== undefined && !['pending', 'overdue', 'done'].includes(opts.state)) {
        throw new Error('--state: one of pending, overdue, done');
      }
      const at = instantOption(opts.at, '--at') ?? new Date();
      const requests = await withQueue(io, (queue) =>
        queue.list(opts.state as ReissueRequestFilter | undefined, opts.tenant, at),
      );
      io.stdout(jsonText({ requests }));
    });

  group
    .command('fulfil')
    .description('reissue the key for the request and close it; prints the new key once')
    .argument('<id>', 'request id (rr_...)')
    .action(async (id: string) => {
      const out = await withQueue(io, (queue) => queue.fulfil(id, new Date(), cliAuditContext(io.env)));
      if (out.issued === null || out.reissue === null) {
        io.stdout(jsonText(out.request));
        return;
      }
      io.stdout(jsonText({ ...out.request, key: out.issued.reveal(), revoked: out.reissue.revoked }));
      await noticeFleet(io, out.request.tenant, out.reissue.changes, out.issued.keyId);
    });

  group
    .command('cancel')
    .description('cancel a pending request with a reason')
    .argument('<id>', 'request id (rr_...)')
    .requiredOption('--reason <text>', 'why (kept in the request and the audit trail)')
    .action(async (id: string, opts: { reason: string }) => {
      const request = await withQueue(io, (queue) =>
        queue.cancel(id, opts.reason, new Date(), cliAuditContext(io.env)),
      );
      io.stdout(jsonText(request));
    });
}
