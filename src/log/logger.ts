// winston JSON-lines logger: timestamp, level, component, message and fields; secrets redacted.
// The process logger's lines reach stdout in batches (line-writer.ts): one write per line was one
// system call per line, the largest single cost of an allocation under load (issue 19).
import { Writable } from 'node:stream';
import winston from 'winston';
import { LineWriter } from './line-writer.js';
import { REDACTED, redact, redactText, SECRET_FIELD } from './redact.js';
import { currentRequest } from './request-context.js';
import { utcTimestamp } from './utc-timestamp.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** The small logging surface every module uses; `child` adds fixed fields such as component. */
export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'timestamp') continue;
    const value = info[key];
    if (SECRET_FIELD.test(key) && value !== undefined && value !== null) info[key] = REDACTED;
    else info[key] = key === 'message' && typeof value === 'string' ? redactText(value) : redact(value);
  }
  return info;
});

/**
 * Adds the request id of the HTTP request the caller works for (request-context.ts). Done here,
 * at the call, not in a winston format: winston may format later, outside the request's context.
 */
function withRequest(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const request = currentRequest();
  if (request === undefined || fields?.['requestId'] !== undefined) return fields;
  return { requestId: request.requestId, ...fields };
}

class WinstonLogger implements Logger {
  constructor(private readonly inner: winston.Logger) {}
  error(message: string, fields?: Record<string, unknown>): void {
    this.inner.error(message, withRequest(fields));
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.inner.warn(message, withRequest(fields));
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.inner.info(message, withRequest(fields));
  }
  debug(message: string, fields?: Record<string, unknown>): void {
    if (this.inner.isDebugEnabled()) this.inner.debug(message, withRequest(fields));
  }
  child(fields: Record<string, unknown>): Logger {
    return new WinstonLogger(this.inner.child(fields));
  }
}

/** stdout through the process's LineWriter: lines leave together once per event-loop turn. */
function batchedStdout(): NodeJS.WritableStream {
  const writer = LineWriter.forStdout();
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      writer.writeLine(text.endsWith('\n') ? text.slice(0, -1) : text);
      done();
    },
  });
}

/** Creates the process logger writing JSON lines to stdout (or to `stream`, for tests). */
export function createLogger(options: { level?: LogLevel; stream?: NodeJS.WritableStream } = {}): Logger {
  const transport = new winston.transports.Stream({ stream: options.stream ?? batchedStdout() });
  const inner = winston.createLogger({
    level: options.level ?? 'info',
    format: winston.format.combine(
      winston.format.timestamp({ format: utcTimestamp }),
      redactFormat(),
      winston.format.json(),
    ),
    transports: [transport],
  });
  return new WinstonLogger(inner);
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
