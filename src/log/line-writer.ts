// Log lines to stdout in batches. stdout on Linux is written synchronously (a pipe or a file), and
// one write per line was one system call per line, each waking the reader (the container runtime's
// log pipe); under load that was the largest single cost of an allocation. Lines are collected
// and written together, in order, at most FLUSH_DELAY_MS after the first of them (or at once when
// MAX_BATCH_CHARS are pending), and whatever is pending is written synchronously when the process
// exits, so no line is lost on a normal exit, process.exit() or a crash that reaches 'exit'; a
// SIGKILL loses at most the last FLUSH_DELAY_MS of lines.

/** What a LineWriter writes to: a stream's write (stdout) and a way to be told of exit. */
export interface LineTarget {
  write(text: string): void;
  /** Registers `flush` to run when the process exits. */
  onExit(flush: () => void): void;
}

/** Longest a line waits for the lines after it. */
export const FLUSH_DELAY_MS = 10;

/** Largest batch held before it is written at once, whatever the event loop does. */
export const MAX_BATCH_CHARS = 64 * 1024;

export class LineWriter {
  #pending = '';
  #scheduled = false;

  constructor(
    private readonly target: LineTarget,
    private readonly schedule: (flush: () => void) => void = (flush) => {
      // unref: a pending flush does not keep the process alive; 'exit' writes what is left.
      setTimeout(flush, FLUSH_DELAY_MS).unref();
    },
  ) {
    target.onExit(() => this.flush());
  }

  /** The process-wide writer to stdout (one per process: every logger shares it). */
  static forStdout(): LineWriter {
    stdoutWriter ??= new LineWriter({
      write: (text) => {
        process.stdout.write(text);
      },
      onExit: (flush) => {
        process.on('exit', flush);
      },
    });
    return stdoutWriter;
  }

  writeLine(line: string): void {
    this.#pending += `${line}\n`;
    if (this.#pending.length >= MAX_BATCH_CHARS) {
      this.flush();
      return;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.schedule(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
  }

  /** Writes every pending line now. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const text = this.#pending;
    this.#pending = '';
    this.target.write(text);
  }
}

let stdoutWriter: LineWriter | undefined;
