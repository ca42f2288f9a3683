/** Milliseconds since the Unix epoch; injected so tests can move time without waiting. */
export type Clock = () => number;

/** The real clock. */
export const systemClock: Clock = () => Date.now();
