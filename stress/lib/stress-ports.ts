// Fixed ports of the `npm run stress` suites: 30000-31999, apart from `npm test`'s blocks in
// test/helpers/ports.ts (below 30000) so both can run at once, and below Linux's ephemeral range.
import type { PortBlock } from '../../test/helpers/ports.js';

/** Port blocks by stress suite. */
export const STRESS_PORTS = {
  capture: { peer: 30000, relayMin: 30010, relayMax: 30099 },
  fuzz: { peer: 30100, relayMin: 30110, relayMax: 30199 },
  /** peer: coturn's listening port; coturn relays 30300-30399 (peer + 100..199). */
  peers: { peer: 30200, relayMin: 30210, relayMax: 30299 },
  floods: { peer: 30400, relayMin: 30410, relayMax: 30799 },
  soak: { peer: 30800, relayMin: 30810, relayMax: 31399 },
  outages: { peer: 31400, relayMin: 31410, relayMax: 31799 },
  /** stress/long-call.stress.ts (issue 16; from issue 16's range 13000-13999) */
  longCall: { peer: 13200, relayMin: 13210, relayMax: 13299 },
  /** stress/libnice-call.stress.ts (issue 16 point 3; 14000-14999 is that part's range) */
  libniceCall: { peer: 14300, relayMin: 14310, relayMax: 14399 },
} as const satisfies Record<string, PortBlock>;
