import { afterEach, describe, expect, it, vi } from 'vitest';
import { FLUSH_DELAY_MS, LineWriter, MAX_BATCH_CHARS } from '../../../src/log/line-writer.js';

afterEach(() => {
  vi.useRealTimers();
});

function harness() {
  const writes: string[] = [];
  const exitHooks: (() => void)[] = [];
  const scheduled: (() => void)[] = [];
  const writer = new LineWriter(
    { write: (text) => writes.push(text), onExit: (flush) => exitHooks.push(flush) },
    (flush) => scheduled.push(flush),
  );
  return { writer, writes, exitHooks, scheduled };
}

describe('LineWriter', () => {
  it('writes the lines written before the scheduled flush together, in order, once the scheduled flush runs', () => {
    const { writer, writes, scheduled } = harness();
    writer.writeLine('a');
    writer.writeLine('b');
    writer.writeLine('c');
    expect(writes).toEqual([]);
    expect(scheduled).toHaveLength(1);
    scheduled[0]!();
    expect(writes).toEqual(['a\nb\nc\n']);
    writer.writeLine('d');
    expect(scheduled).toHaveLength(2);
    scheduled[1]!();
    expect(writes).toEqual(['a\nb\nc\n', 'd\n']);
  });

  it('writes what is pending when the process exits', () => {
    const { writer, writes, exitHooks } = harness();
    writer.writeLine('last words');
    expect(exitHooks).toHaveLength(1);
    exitHooks[0]!();
    expect(writes).toEqual(['last words\n']);
    exitHooks[0]!();
    expect(writes).toHaveLength(1);
  });

  it('writes a batch at once when it grows past the bound', () => {
    const { writer, writes, scheduled } = harness();
    const line = 'x'.repeat(1000);
    const count = Math.ceil(MAX_BATCH_CHARS / 1001);
    for (let i = 0; i < count; i++) writer.writeLine(line);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toBe(`${line}\n`.repeat(count));
    scheduled[0]!();
    expect(writes).toHaveLength(1);
  });

  it('by default writes pending lines FLUSH_DELAY_MS after the first of them', () => {
    vi.useFakeTimers();
    const writes: string[] = [];
    const writer = new LineWriter({ write: (text) => writes.push(text), onExit: () => undefined });
    writer.writeLine('one');
    vi.advanceTimersByTime(FLUSH_DELAY_MS - 1);
    writer.writeLine('two');
    expect(writes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(writes).toEqual(['one\ntwo\n']);
  });

  it('the stdout writer is one per process', () => {
    expect(LineWriter.forStdout()).toBe(LineWriter.forStdout());
  });
});
