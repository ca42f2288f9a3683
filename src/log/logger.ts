// winston JSON-lines logger: timestamp, level, component, message and fields; secrets redacted.
// The process logger's lines reach stdout in batches (line-writer.ts): one write per line was one
// system call per line, the largest single cost of an allocation under load (issue 19).
import winston from 'winston';
import { LineWriter } from './line-writer.js';
import { REDACTED, redact, redactText, SECRET_FIELD } from './redact.js';
import { currentRequest } from './request-context.js';
import { stableJson } from './stable-json.js';
import { utcTimestamp } from './utc-timestamp.js';

/** Where winston formats leave the finished line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');

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
 * The line's JSON with sorted keys, as winston.format.json() writes it (same text, see
 * stable-json.ts) without configuring a stringifier for every line.
 */
const jsonFormat = winston.format((info) => {
  info[MESSAGE] = stableJson(info);
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

/** A winston transport (winston-transport's TransportStream, as winston's typings describe it). */
type WinstonTransport = Omit<winston.transports.StreamTransportInstance, 'eol' | 'log'>;

/** What winston's transports are built on: winston.Transport at run time (its typings omit it). */
const TransportBase = (winston as unknown as { Transport: new () => WinstonTransport }).Transport;

/**
 * The one transport: each finished line goes straight to `writeLine` (the process's LineWriter,
 * or a test's stream), without winston's Stream transport and a Writable in between, which cost
 * a stream write and a setImmediate per line. 'logged' is emitted only when someone listens.
 */
class LineTransport extends TransportBase {
  constructor(private readonly writeLine: (line: string) => void) {
    super();
  }

  log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.writeLine(String(info[MESSAGE]));
    if (this.listenerCount('logged') > 0) setImmediate(() => this.emit('logged', info));
    next();
  }
}

/** Creates the process logger writing JSON lines to stdout (or to `stream`, for tests). */
export function createLogger(options: { level?: LogLevel; stream?: NodeJS.WritableStream } = {}): Logger {
  const stream = options.stream;
  let writeLine: (line: string) => void;
  if (stream === undefined) {
    // stdout through the process's LineWriter: lines leave together, once per event-loop turn.
    const writer = LineWriter.forStdout();
    writeLine = (line) => writer.writeLine(line);
  } else {
    writeLine = (line) => {
      stream.write(`${line}\n`);
    };
  }
  const inner = winston.createLogger({
    level: options.level ?? 'info',
    format: winston.format.combine(
      winston.format.timestamp({ format: utcTimestamp }),
      redactFormat(),
      jsonFormat(),
    ),
    transports: [new LineTransport(writeLine)],
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
