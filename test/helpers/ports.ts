// Fixed UDP ports for tests. vitest runs test files in parallel, so every file that needs a fixed
// port (turnutils_peer cannot take port 0) or a relay port range gets its own block here.
// Listening ports are ephemeral (port 0) wherever the tool allows it.
//
// Blocks sit below Linux's ephemeral range (32768-60999) so that no socket the kernel picks for
// someone else can take them. Relay ranges are small: tests hold a handful of allocations, and the
// relay pool retries on EADDRINUSE anyway.

/** One test file's ports. */
export interface PortBlock {
  /** A fixed port for a peer process (turnutils_peer), when the file needs one. */
  peer: number;
  /** The relay port range, inclusive. */
  relayMin: number;
  relayMax: number;
}

/** Port blocks by test file; add a block for each new file that binds fixed ports. */
export const PORTS = {
  /** test/integration/uclient.test.ts */
  uclient: { peer: 20480, relayMin: 20500, relayMax: 20999 },
  /** test/integration/werift.test.ts */
  werift: { peer: 21480, relayMin: 21500, relayMax: 21599 },
  /** test/integration/robustness.test.ts */
  robustness: { peer: 22480, relayMin: 22500, relayMax: 22599 },
  /** test/unit/transport/*.test.ts */
  transport: { peer: 23480, relayMin: 23500, relayMax: 23599 },
  /** Free for later files (HTTP gate, browser): 24000-29999 in blocks of 1000. */
} as const satisfies Record<string, PortBlock>;
