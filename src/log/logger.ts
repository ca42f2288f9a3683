// JSON-lines logger: timestamp, level, component, message and fields; secrets redacted. One line
// per call, keys in sorted order, written straight to stdout (or a test's stream). Our own few
// lines rather than winston: an idle node kept winston, logform and their dependencies resident
// (about 1 MiB of V8 heap, memory at rest, issue 19) for this one format.
import { REDACTED, redact, redactText, SECRET_FIELD } from './redact.js';
import { currentRequest } from './request-context.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** The small logging surface every module uses; `child` adds fixed fields such as component. */
export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * Adds the request id of the HTTP request the caller works for (request-context.ts), read at the
 * call, inside the request's asynchronous context.
 */
function withRequest(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const request = currentRequest();
  if (request === undefined || fields?.['requestId'] !== undefined) return fields;
  return { requestId: request.requestId, ...fields };
}

/**
 * `value` as JSON with its object keys in sorted order, written directly (no sorted copy of the
 * entry): a repeated ancestor becomes "[Circular]", a bigint its decimal string, toJSON (Date) is
 * honoured; undefined, functions and symbols are left out of objects and null in arrays, as
 * JSON.stringify does. undefined when `value` itself has no JSON form.
 */
function sortedJson(value: unknown, ancestors: object[]): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
    case 'boolean':
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return 'null';
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return sortedJson(withToJson.toJSON(), ancestors);
  if (ancestors.includes(value as object)) return '"[Circular]"';
  ancestors.push(value as object);
  let out = '';
  if (Array.isArray(value)) {
    for (const item of value) out += `${out === '' ? '' : ','}${sortedJson(item, ancestors) ?? 'null'}`;
    out = `[${out}]`;
  } else {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record).sort()) {
      const json = sortedJson(record[key], ancestors);
      if (json !== undefined) out += `${out === '' ? '' : ','}${JSON.stringify(key)}:${json}`;
    }
    out = `{${out}}`;
  }
  ancestors.pop();
  return out;
}

/** One log line (without its newline): the entry's fields redacted, keys sorted. */
export function formatLogLine(
  level: LogLevel,
  message: string,
  fields: Record<string, unknown> | undefined,
  now: Date = new Date(),
): string {
  const entry: Record<string, unknown> = { timestamp: now.toISOString(), ...fields, level, message };
  // A `message` field is appended to the message, never dropped.
  if (fields?.['message'] !== undefined) entry['message'] = `${message} ${String(fields['message'])}`;
  for (const key of Object.keys(entry)) {
    if (key === 'level' || key === 'timestamp') continue;
    const value = entry[key];
    if (SECRET_FIELD.test(key) && value !== undefined && value !== null) entry[key] = REDACTED;
    else entry[key] = key === 'message' && typeof value === 'string' ? redactText(value) : redact(value);
  }
  return sortedJson(entry, []) ?? '{}';
}

class JsonLinesLogger implements Logger {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly threshold: number,
    private readonly bound: Record<string, unknown> | undefined,
  ) {}
  error(message: string, fields?: Record<string, unknown>): void {
    this.write('error', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.write('warn', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.write('info', message, fields);
  }
  debug(message: string, fields?: Record<string, unknown>): void {
    this.write('debug', message, fields);
  }
  child(fields: Record<string, unknown>): Logger {
    return new JsonLinesLogger(this.out, this.threshold, { ...this.bound, ...fields });
  }
  private write(level: LogLevel, message: string, fields: Record<string, unknown> | undefined): void {
    if (RANK[level] > this.threshold) return;
    // The call's fields win over the child's fixed ones.
    const all = this.bound === undefined ? withRequest(fields) : { ...this.bound, ...withRequest(fields) };
    this.out.write(`${formatLogLine(level, message, all)}\n`);
  }
}

/** Creates the process logger writing JSON lines to stdout (or to `stream`, for tests). */
export function createLogger(options: { level?: LogLevel; stream?: NodeJS.WritableStream } = {}): Logger {
  return new JsonLinesLogger(options.stream ?? process.stdout, RANK[options.level ?? 'info'], undefined);
}

/** A logger that drops everything, for unit tests of modules that take a Logger. */
export const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child() {
    return silentLogger;
  },
};
