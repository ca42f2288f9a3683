import { describe, expect, it } from 'vitest';
import { fanOutEvents } from '../../../src/composition/event-fanout.js';

describe('fanOutEvents', () => {
  it('calls every part that handles an event, in order, and leaves the others out', () => {
    const calls: string[] = [];
    const joined = fanOutEvents(
      { quotaRefused: (tenant) => calls.push(`a:${tenant}`), packetDropped: (r) => calls.push(`a:${r}`) },
      { quotaRefused: (tenant) => calls.push(`b:${tenant}`) },
    );
    joined.quotaRefused?.('acme', 3);
    joined.packetDropped?.('empty');
    expect(calls).toEqual(['a:acme', 'b:acme', 'a:empty']);
    expect(joined.allocationCreated).toBeUndefined();
  });
});
