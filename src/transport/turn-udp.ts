import type { TransportAddress } from '../stun/index.js';
import type { TurnServer, TurnServerOptions } from '../turn/index.js';
import type { TransportErrorReporter } from './errors.js';
import type { RelayAddressConfig, RelayPool } from './relay-pool.js';
import { TurnHost } from './turn-host.js';

/** Options of startTurnUdp, named after the environment variables of DESIGN.md. */
export interface TurnUdpOptions {
  /** `TURN_LISTEN_IP`. */
  listenIp: string;
  /** `TURN_PORT`; 0 picks a free port (tests). */
  port: number;
  /** `TURN_RELAY_IP`: where IPv4 (or IPv6) relay sockets bind. */
  relayIp: string;
  /** `TURN_EXTERNAL_IP`: advertised in XOR-RELAYED-ADDRESS; relayIp by default. */
  externalIp?: string;
  /** A relay address of the other family, for REQUESTED-ADDRESS-FAMILY (RFC 8656 section 7.2). */
  relayIp6?: string;
  externalIp6?: string;
  /** `TURN_MIN_PORT` / `TURN_MAX_PORT`. */
  minPort: number;
  maxPort: number;
  turn: Omit<TurnServerOptions, 'sink' | 'relayFamilies'>;
  tickMs?: number;
  onError?: TransportErrorReporter;
}

/** A running UDP TURN server. */
export interface TurnUdpServer {
  readonly core: TurnServer;
  readonly relays: RelayPool;
  readonly host: TurnHost;
  /** The bound listening address. */
  address(): TransportAddress;
  close(): Promise<void>;
}

/** Starts a TURN server over UDP (issue 2): one listener, relays in [minPort, maxPort]. */
export async function startTurnUdp(options: TurnUdpOptions): Promise<TurnUdpServer> {
  const relays: RelayAddressConfig[] = [
    { bindIp: options.relayIp, externalIp: options.externalIp ?? options.relayIp },
  ];
  if (options.relayIp6 !== undefined) {
    relays.push({ bindIp: options.relayIp6, externalIp: options.externalIp6 ?? options.relayIp6 });
  }
  const host = new TurnHost({
    relays,
    minPort: options.minPort,
    maxPort: options.maxPort,
    turn: options.turn,
    ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
  let listenerAddress: TransportAddress;
  try {
    listenerAddress = (await host.listenUdp(options.listenIp, options.port)).address;
  } catch (error) {
    await host.close();
    throw error;
  }
  return {
    core: host.core,
    relays: host.relays,
    host,
    address: () => listenerAddress,
    close: () => host.close(),
  };
}
