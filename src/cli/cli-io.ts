// Where the CLI writes and what environment it reads, injected so tests can run commands
// in-process and capture their output.

/** The CLI's outside world. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

/** The real process: stdout, stderr and process.env. */
export const processIo: CliIo = {
  stdout: (text) => {
    process.stdout.write(text);
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
  env: process.env,
};

/** Pretty JSON (2 spaces) and a newline: what every command prints for a program to read. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Exit code of a command that failed; the reason is on stderr. */
export const EXIT_FAILURE = 1;

/** A failed command's stderr line: `icegate: <message>` on one line. */
export function failureLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `icegate: ${message.replace(/\s*\n\s*/g, ' ')}\n`;
}
