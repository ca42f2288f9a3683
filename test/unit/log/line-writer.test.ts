import { describe, expect, it } from 'vitest';
import { LineWriter, MAX_BATCH_CHARS } from '../../../src/log/line-writer.js';

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
  it('writes the lines of one turn together, in order, once the scheduled flush runs', () => {
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

  it('the stdout writer is one per process', () => {
    expect(LineWriter.forStdout()).toBe(LineWriter.forStdout());
  });
});
