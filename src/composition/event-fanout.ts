// The TURN core takes one TurnEvents; several observers (metrics and logs, the fleet quota
// ledger) each want some of the events. This joins them, calling every handler in order.
import type { TurnEvents } from '../turn/index.js';

type Handler = (...args: never[]) => void;

/** One TurnEvents that calls the handlers of every part, in the order given. */
export function fanOutEvents(...parts: readonly TurnEvents[]): TurnEvents {
  const joined: Record<string, Handler> = {};
  const names = new Set(parts.flatMap((part) => Object.keys(part)));
  for (const name of names) {
    const handlers = parts
      .map((part) => (part as Record<string, Handler | undefined>)[name])
      .filter((h): h is Handler => h !== undefined);
    joined[name] =
      handlers.length === 1
        ? handlers[0]!
        : (...args: never[]) => {
            for (const handler of handlers) handler(...args);
          };
  }
  return joined as TurnEvents;
}
