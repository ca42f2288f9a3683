// `icegate support-periods`, `icegate entitlement`, `icegate reissue-due`: the acceptance
// interfaces of DOMAIN.md. Their input and output shapes are a contract; keep them.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  type ClosingDaySpec,
  computeTimeline,
  DEFAULT_CLOSING_DAYS,
  entitlementAt,
  parseClosingDays,
  parseInstant,
  parseOrderHistory,
  reissueDue,
} from '../entitlement/rules/index.js';
import type { OrderHistory } from '../entitlement/types.js';
import { type CliIo, jsonText, processIo } from './cli-io.js';

/** Environment variable with the company closing days, e.g. '08-13..08-15,12-29..01-03'. */
export const CLOSING_DAYS_ENV = 'SUPPORT_CLOSING_DAYS';

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Reads and validates an order-history file; every failure names the file and the problem. */
export async function readOrderHistoryFile(file: string): Promise<OrderHistory> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`cannot read order-history file ${file}: no such file`);
    if (code === 'EISDIR') throw new Error(`cannot read order-history file ${file}: it is a directory`);
    throw new Error(`cannot read order-history file ${file}: ${errorMessage(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${errorMessage(err)}`);
  }
  try {
    return parseOrderHistory(json);
  } catch (err) {
    throw new Error(`${file}: ${errorMessage(err)}`);
  }
}

function instantOption(text: string): Date {
  try {
    return parseInstant(text);
  } catch (err) {
    throw new Error(`--at: ${errorMessage(err)}`);
  }
}

function graceDaysOption(text: string): number {
  if (!/^\d{1,5}$/.test(text)) {
    throw new Error(`--grace-days must be a whole number of days (0 or more), got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function closingDaysOf(option: string | undefined, io: CliIo): readonly ClosingDaySpec[] {
  const fromEnv = io.env[CLOSING_DAYS_ENV];
  const [source, text] =
    option !== undefined
      ? ['--closing-days', option]
      : fromEnv !== undefined
        ? [CLOSING_DAYS_ENV, fromEnv]
        : [];
  if (text === undefined) return DEFAULT_CLOSING_DAYS;
  try {
    return parseClosingDays(text);
  } catch (err) {
    throw new Error(`${source}: ${errorMessage(err)}`);
  }
}

/** Registers support-periods, entitlement and reissue-due (DOMAIN.md CLI contract). */
export function registerRuleCommands(program: Command, io: CliIo = processIo): void {
  program
    .command('support-periods')
    .description('print the support periods and rejected orders of an order-history file as JSON')
    .argument('<file>', 'order-history JSON file {tenant, orders}')
    .action(async (file: string) => {
      const history = await readOrderHistoryFile(file);
      io.stdout(jsonText(computeTimeline(history)));
    });

  program
    .command('entitlement')
    .description('print the entitlement at an instant, as known then, as JSON')
    .argument('<file>', 'order-history JSON file {tenant, orders}')
    .requiredOption('--at <instant>', 'ISO-8601 instant with an offset, e.g. 2027-01-15T10:00:00+09:00')
    .option('--grace-days <days>', 'days after a period ends during which credentials are still given', '0')
    .action(async (file: string, opts: { at: string; graceDays: string }) => {
      const at = instantOption(opts.at);
      const graceDays = graceDaysOption(opts.graceDays);
      const history = await readOrderHistoryFile(file);
      const e = entitlementAt(history, at, { graceDays });
      io.stdout(
        jsonText({
          tenant: e.tenant,
          active: e.active,
          state: e.state,
          licenses: e.licenses,
          until: e.until,
        }),
      );
    });

  program
    .command('reissue-due')
    .description('print the due date of a manual license-key reissue request accepted at an instant')
    .requiredOption('--at <instant>', 'ISO-8601 instant with an offset, e.g. 2027-01-15T17:00:00+09:00')
    .option(
      '--closing-days <ranges>',
      `company closing days (default: $${CLOSING_DAYS_ENV} or 08-13..08-15,12-29..01-03)`,
    )
    .action((opts: { at: string; closingDays?: string }) => {
      const at = instantOption(opts.at);
      const closingDays = closingDaysOf(opts.closingDays, io);
      io.stdout(jsonText({ due: reissueDue(at, { closingDays }) }));
    });
}
