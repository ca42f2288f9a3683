// Relayed traffic is counted as it flows (a known complaint about coturn is that its counters
// only move when a session ends), but not with a prom-client call per packet: the data path adds
// to plain numbers on each allocation, and a periodic report hands the growth since the previous
// report to these counters in one batch.
import type { Direction, Transport } from './label-sets.js';
import type { LabelledCounter } from './typed-metric.js';

/**
 * Traffic of one allocation since its previous report: UDP payload exchanged with peers (the
 * Data of Send/Data indications or ChannelData), not TURN framing. The TURN core's
 * TrafficCounters has this shape.
 */
export interface RelayedTraffic {
  readonly toPeerBytes: number;
  readonly toPeerPackets: number;
  readonly toClientBytes: number;
  readonly toClientPackets: number;
}

type RelayLabels = { transport: Transport; direction: Direction };
type Child = { inc(value?: number): void };

/** The relayed bytes and packets counters, with children bound once per transport and direction. */
export class RelayCounters {
  private readonly bytes = new Map<string, Child>();
  private readonly packets = new Map<string, Child>();

  constructor(
    bytesCounter: LabelledCounter<RelayLabels>,
    packetsCounter: LabelledCounter<RelayLabels>,
    transports: readonly Transport[],
    directions: readonly Direction[],
  ) {
    for (const transport of transports) {
      for (const direction of directions) {
        const key = `${transport}/${direction}`;
        this.bytes.set(key, bytesCounter.labels({ transport, direction }));
        this.packets.set(key, packetsCounter.labels({ transport, direction }));
      }
    }
  }

  /** Adds a batch of relayed traffic for one transport and direction. */
  add(transport: Transport, direction: Direction, bytes: number, packets: number): void {
    const key = `${transport}/${direction}`;
    if (bytes > 0) this.bytes.get(key)?.inc(bytes);
    if (packets > 0) this.packets.get(key)?.inc(packets);
  }

  /** Adds one allocation's traffic delta, both directions; call on each periodic report and at the end. */
  addTraffic(transport: Transport, delta: RelayedTraffic): void {
    this.add(transport, 'client_to_peer', delta.toPeerBytes, delta.toPeerPackets);
    this.add(transport, 'peer_to_client', delta.toClientBytes, delta.toClientPackets);
  }
}
