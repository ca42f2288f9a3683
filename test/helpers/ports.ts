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
  /** test/integration/tcp-tls.test.ts (issue 5) */
  tcpTls: { peer: 24480, relayMin: 24500, relayMax: 24599 },
  /** test/integration/tcp-tls-robustness.test.ts (issue 5) */
  tcpTlsRobustness: { peer: 24680, relayMin: 24700, relayMax: 24799 },
  /** test/integration/ipv6.test.ts (issue 5; its peer listens on ::1 and 127.0.0.1) */
  ipv6: { peer: 25480, relayMin: 25500, relayMax: 25599 },
  /** test/integration/browser.test.ts (issue 5) */
  browser: { peer: 26480, relayMin: 26500, relayMax: 26599 },
  /** test/integration/check-page.test.ts (issue 5) */
  checkPage: { peer: 26680, relayMin: 26700, relayMax: 26799 },
  /** test/integration/security-fuzz.test.ts (issue 7; the live-listener fuzzer's relays) */
  securityFuzz: { peer: 29000, relayMin: 29010, relayMax: 29099 },
  /** test/integration/security-peers.test.ts (issue 7; peer: coturn's port, coturn relays 29200-29299) */
  securityPeers: { peer: 29100, relayMin: 29110, relayMax: 29199 },
  /** test/integration/security-floods.test.ts (issue 7) */
  securityFloods: { peer: 29400, relayMin: 29410, relayMax: 29599 },
  /** test/integration/security-soak.test.ts (issue 7) */
  securitySoak: { peer: 29600, relayMin: 29610, relayMax: 29799 },
  /** test/integration/security-outages.test.ts (issue 7) */
  securityOutages: { peer: 29800, relayMin: 29810, relayMax: 29999 },
  /** scripts/image/check.sh (issue 17; the container's relay range and coturn's echo peer, host network) */
  imageCheck: { peer: 15480, relayMin: 15500, relayMax: 15599 },
  /** test/integration/drain.test.ts (issue 6; in-process node: TURN 28478, HTTP 28479, metrics 11000) */
  drain: { peer: 28480, relayMin: 28500, relayMax: 28599 },
  /** test/integration/drain-process.test.ts (issue 6; child process: TURN 28678, HTTP 28679, metrics 11001) */
  drainProcess: { peer: 28680, relayMin: 28700, relayMax: 28799 },
  /** test/integration/gate-full-path.test.ts (issue 4; peer: turnutils_peer) */
  gateFullPath: { peer: 27000, relayMin: 27010, relayMax: 27099 },
  /** test/integration/gate-refusals.test.ts (issue 4) */
  gateRefusals: { peer: 27100, relayMin: 27110, relayMax: 27199 },
  /** test/integration/gate-fleet.test.ts (issue 4), node A */
  gateFleetA: { peer: 27200, relayMin: 27210, relayMax: 27299 },
  /** test/integration/gate-fleet.test.ts (issue 4), node B */
  gateFleetB: { peer: 27300, relayMin: 27310, relayMax: 27399 },
  /** test/integration/gate-outage.test.ts (issue 4) */
  gateOutage: { peer: 27400, relayMin: 27410, relayMax: 27499 },
  /** test/integration/gate-quota.test.ts (issue 4), node A */
  gateQuotaA: { peer: 27500, relayMin: 27510, relayMax: 27599 },
  /** test/integration/gate-quota.test.ts (issue 4), node B */
  gateQuotaB: { peer: 27600, relayMin: 27610, relayMax: 27699 },
  /** test/integration/gate-embedded.test.ts (issue 4) */
  gateEmbedded: { peer: 27700, relayMin: 27710, relayMax: 27799 },
  /** test/integration/native-uclient.test.ts (issue 9) */
  nativeUclient: { peer: 27800, relayMin: 27810, relayMax: 27899 },
  /** test/integration/native-security.test.ts (issue 9; second node 28800-28849) */
  nativeSecurity: { peer: 27900, relayMin: 27910, relayMax: 27939 },
  /** test/integration/native-ipv6.test.ts (issue 9; its peer listens on ::1 and 127.0.0.1) */
  nativeIpv6: { peer: 27940, relayMin: 27941, relayMax: 27999 },
  nativeSecurityStrict: { peer: 28800, relayMin: 28810, relayMax: 28849 },
  /** test/integration/native-werift.test.ts (issue 9) */
  nativeWerift: { peer: 28850, relayMin: 28860, relayMax: 28889 },
  /** test/integration/native-ports.test.ts (issue 9; a deliberately tiny relay range) */
  nativePorts: { peer: 28890, relayMin: 28892, relayMax: 28897 },
  /** test/unit/transport/native-sink.test.ts (issue 9; one relay port) */
  nativeSinkUnit: { peer: 28898, relayMin: 28899, relayMax: 28899 },
  /** test/integration/native-browser.test.ts (issue 9; 28950-28999: native-fallback.test.ts) */
  nativeBrowser: { peer: 28900, relayMin: 28910, relayMax: 28949 },
  nativeFallback: { peer: 28950, relayMin: 28960, relayMax: 28999 },
  /** test/integration/native-expiry.test.ts (issue 9; 29300-29399 was free) */
  nativeExpiry: { peer: 29300, relayMin: 29310, relayMax: 29339 },
  /** test/integration/native-fuzz.test.ts (issue 9; 22000-22479 was free) */
  nativeFuzz: { peer: 22000, relayMin: 22010, relayMax: 22049 },
  /** test/integration/cli-serve.test.ts (issue 20; `icegate serve` child: TURN 17001, HTTP 17002) */
  cliServe: { peer: 17000, relayMin: 17010, relayMax: 17099 },
  /** test/integration/client-kit.test.ts (issue 20) */
  clientKit: { peer: 17100, relayMin: 17110, relayMax: 17199 },
  /** test/integration/quickstart.test.ts (issue 20; scripts/quickstart.sh: TURN 17201, HTTP 17202) */
  quickstart: { peer: 17200, relayMin: 17210, relayMax: 17299 },
  /** test/integration/libnice.test.ts (issue 16; 14000-14999 reserved for issue 16 point 3) */
  libnice: { peer: 14000, relayMin: 14010, relayMax: 14099 },
  /** test/integration/libnice.test.ts, the long call with shortened lifetimes (issue 16) */
  libniceLong: { peer: 14200, relayMin: 14210, relayMax: 14299 },
  /** test/integration/uclient-long-call.test.ts (issue 16) */
  uclientLongCall: { peer: 14100, relayMin: 14110, relayMax: 14199 },
  /** test/integration/long-call.test.ts (issue 16; 13000-13999 is issue 16's range), JS path */
  longCall: { peer: 13000, relayMin: 13010, relayMax: 13099 },
  /** test/integration/long-call.test.ts (issue 16), native plane */
  longCallNative: { peer: 13100, relayMin: 13110, relayMax: 13199 },
  /** test/unit/transport/relay-buffers.test.ts (issue 16) */
  relayBuffers: { peer: 13300, relayMin: 13310, relayMax: 13319 },
  /** test/integration/fleet-admin.test.ts (issues 15, 18), nodes A and B */
  fleetAdminA: { peer: 12000, relayMin: 12010, relayMax: 12099 },
  fleetAdminB: { peer: 12100, relayMin: 12110, relayMax: 12199 },
  /** test/integration/fleet-node-death.test.ts (issue 18): child processes; TURN and HTTP 12200-12203 */
  fleetDeathA: { peer: 12204, relayMin: 12210, relayMax: 12299 },
  fleetDeathB: { peer: 12205, relayMin: 12310, relayMax: 12399 },
  /** Free for later files: none left below 29000 (stress/ uses 30000-31999). */
  /** test/integration/observability.test.ts (issue 18; 16000-16999 reserved for issue 18's ops work) */
  observability: { peer: 16000, relayMin: 16010, relayMax: 16099 },
  /** test/integration/prometheus-live.test.ts (issue 18; a real Prometheus scraping a node under load) */
  prometheusLive: { peer: 16100, relayMin: 16110, relayMax: 16499 },
  /** test/integration/native-streams.test.ts (issue 19: TCP clients on the native plane; 18000-18499) */
  nativeStreams: { peer: 18000, relayMin: 18010, relayMax: 18199 },
  /** Free for later files: 16500-16999, none left 20000-29999 (stress/ uses 30000-31999). */
  /** test/integration/bench-alloc-load.test.ts (issue 19: the benchmark's allocation generator) */
  benchAllocLoad: { peer: 19000, relayMin: 19010, relayMax: 19099 },
  /** test/integration/lazy-modules.test.ts (issue 19, memory at rest): an idle `icegate serve`; 19500-19999 is its range */
  lazyServe: { peer: 19500, relayMin: 19510, relayMax: 19599 },
} as const satisfies Record<string, PortBlock>;
