// Relayed traffic is counted as it flows (a known complaint about coturn is that its counters
// only move when a session ends), but not with a prom-client call per packet: the data path adds
// to plain numbers on the allocation's tally, and a periodic flush moves the growth since the last
// flush into the shared counters.
import type { Direction, Transport } from './label-sets.js';
import type { LabelledCounter } from './typed-metric.js';

/**
 * Cumulative traffic of one allocation. Counts the UDP payload exchanged with peers (the Data of
 * Send/Data indications or ChannelData), not TURN framing, so both directions compare.
 */
export class RelayTally {
  clientToPeerBytes = 0;
  clientToPeerPackets = 0;
  peerToClientBytes = 0;
  peerToClientPackets = 0;
  // What the last flush already moved into the shared counters.
  flushedClientToPeerBytes = 0;
  flushedClientToPeerPackets = 0;
  flushedPeerToClientBytes = 0;
  flushedPeerToClientPackets = 0;

  constructor(readonly transport: Transport) {}

  /** Data path: one datagram relayed from the client to a peer. */
  addClientToPeer(bytes: number): void {
    this.clientToPeerBytes += bytes;
    this.clientToPeerPackets += 1;
  }

  /** Data path: one datagram relayed from a peer to the client. */
  addPeerToClient(bytes: number): void {
    this.peerToClientBytes += bytes;
    this.peerToClientPackets += 1;
  }

  /** Total payload bytes relayed in both directions since the allocation started. */
  totalBytes(): number {
    return this.clientToPeerBytes + this.peerToClientBytes;
  }
}

type RelayLabels = { transport: Transport; direction: Direction };
type Child = { inc(value?: number): void };

/** The relayed bytes and packets counters, with children bound once per transport and direction. */
export class RelayCounters {
  private readonly bytes: Map<string, Child>;
  private readonly packets: Map<string, Child>;

  constructor(
    bytesCounter: LabelledCounter<RelayLabels>,
    packetsCounter: LabelledCounter<RelayLabels>,
    transports: readonly Transport[],
    directions: readonly Direction[],
  ) {
    this.bytes = new Map();
    this.packets = new Map();
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

  /** Moves a tally's growth since its previous flush into the counters; call periodically and at allocation end. */
  flush(tally: RelayTally): void {
    this.add(
      tally.transport,
      'client_to_peer',
      tally.clientToPeerBytes - tally.flushedClientToPeerBytes,
      tally.clientToPeerPackets - tally.flushedClientToPeerPackets,
    );
    this.add(
      tally.transport,
      'peer_to_client',
      tally.peerToClientBytes - tally.flushedPeerToClientBytes,
      tally.peerToClientPackets - tally.flushedPeerToClientPackets,
    );
    tally.flushedClientToPeerBytes = tally.clientToPeerBytes;
    tally.flushedClientToPeerPackets = tally.clientToPeerPackets;
    tally.flushedPeerToClientBytes = tally.peerToClientBytes;
    tally.flushedPeerToClientPackets = tally.peerToClientPackets;
  }

  /** Flushes many tallies, e.g. every allocation of a node from one timer. */
  flushAll(tallies: Iterable<RelayTally>): void {
    for (const tally of tallies) this.flush(tally);
  }
}
