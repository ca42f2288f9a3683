// JSON-lines logger: timestamp, level, component, message and fields; secrets redacted.
// Each line is one JSON object with its keys in sorted order (as the winston pipeline this
// replaces wrote them), built directly from the call's fields: no format pipeline, no per-line
// info objects beyond the one being written. Lines to stdout are written in batches, at most 10 ms
// after the first (line-writer.ts), and whatever is pending is written before the process exits.

import { type LineSink, LineWriter } from './line-writer.js';
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

const SEVERITY: Readonly<Record<LogLevel, number>> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Keys every line has; a field of the same name never replaces them. */
const LEVEL = 'level';
const MESSAGE = 'message';
const TIMESTAMP = 'timestamp';

/** A field value as it may be written: secret-named fields masked, secret-looking text masked. */
function redactField(key: string, value: unknown): unknown {
  if (SECRET_FIELD.test(key) && value !== undefined && value !== null) return REDACTED;
  return redact(value);
}

/**
 * JSON text of a redacted value with object keys sorted at every depth, like the
 * safe-stable-stringify of the former pipeline: bigint as a string, a circular reference as
 * "[Circular]", `toJSON` honoured; undefined, functions and symbols left out of objects (null in
 * arrays).
 */
function stableJson(value: unknown, stack: unknown[]): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object': {
      if (value === null) return 'null';
      const withJson = value as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === 'function') return stableJson(withJson.toJSON(), stack);
      if (stack.includes(value)) return '"[Circular]"';
      stack.push(value);
      let out: string;
      if (Array.isArray(value)) {
        out = `[${value.map((v) => stableJson(v, stack) ?? 'null').join(',')}]`;
      } else {
        const record = value as Record<string, unknown>;
        const parts: string[] = [];
        for (const key of Object.keys(record).sort()) {
          const text = stableJson(record[key], stack);
          if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`);
        }
        out = `{${parts.join(',')}}`;
      }
      stack.pop();
      return out;
    }
    default:
      return undefined;
  }
}

/** The JSON text of one already redacted field value (primitives without the general walk). */
function valueJson(value: unknown): string | undefined {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  return stableJson(value, []);
}

/** Fixed fields of a logger (its `child` fields), redacted once and kept as JSON text by key. */
type FixedFields = ReadonlyMap<string, string>;

class JsonLineLogger implements Logger {
  constructor(
    private readonly sink: LineSink,
    private readonly threshold: number,
    private readonly fixed: FixedFields,
  ) {}

  error(message: string, fields?: Record<string, unknown>): void {
    this.#write('error', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    if (this.threshold >= SEVERITY.warn) this.#write('warn', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    if (this.threshold >= SEVERITY.info) this.#write('info', message, fields);
  }
  debug(message: string, fields?: Record<string, unknown>): void {
    if (this.threshold >= SEVERITY.debug) this.#write('debug', message, fields);
  }

  child(fields: Record<string, unknown>): Logger {
    const fixed = new Map(this.fixed);
    for (const key of Object.keys(fields)) {
      if (key === LEVEL || key === MESSAGE || key === TIMESTAMP) continue;
      const text = valueJson(redactField(key, fields[key]));
      if (text === undefined) fixed.delete(key);
      else fixed.set(key, text);
    }
    return new JsonLineLogger(this.sink, this.threshold, fixed);
  }

  #write(level: LogLevel, message: string, given: Record<string, unknown> | undefined): void {
    const fields = withRequest(given);
    // Keys and their JSON text; a call's field replaces a fixed field of the same name.
    const entries = new Map(this.fixed);
    let text = message;
    if (fields !== undefined) {
      for (const key of Object.keys(fields)) {
        const value = fields[key];
        if (key === MESSAGE) {
          // As winston did: a `message` field is appended to the message.
          if (value !== undefined) text = `${text} ${String(value)}`;
          continue;
        }
        if (key === LEVEL || key === TIMESTAMP) continue;
        const json = valueJson(redactField(key, value));
        if (json === undefined) entries.delete(key);
        else entries.set(key, json);
      }
    }
    entries.set(LEVEL, `"${level}"`);
    entries.set(MESSAGE, JSON.stringify(redactText(text)));
    entries.set(TIMESTAMP, `"${new Date().toISOString()}"`);
    const keys = [...entries.keys()].sort();
    let line = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      line += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${entries.get(key)}`;
    }
    this.sink.writeLine(`${line}}`);
  }
}

/**
 * Adds the request id of the HTTP request the caller works for (request-context.ts), unless the
 * fields name one already.
 */
function withRequest(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const request = currentRequest();
  if (request === undefined || fields?.['requestId'] !== undefined) return fields;
  return { requestId: request.requestId, ...fields };
}

/**
 * Creates the process logger writing JSON lines to stdout, batched (line-writer.ts), or to
 * `stream` (tests, one write per line).
 */
export function createLogger(options: { level?: LogLevel; stream?: NodeJS.WritableStream } = {}): Logger {
  const stream = options.stream;
  const sink: LineSink =
    stream === undefined
      ? LineWriter.forStdout()
      : {
          writeLine(line: string) {
            stream.write(`${line}\n`);
          },
        };
  return new JsonLineLogger(sink, SEVERITY[options.level ?? 'info'], new Map());
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
