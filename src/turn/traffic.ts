/** Relayed traffic of one allocation, counted on the data path and read in batches. */
export class TrafficCounters {
  /** Packets relayed from the client to peers. */
  toPeerPackets = 0;
  /** Payload bytes relayed from the client to peers. */
  toPeerBytes = 0;
  /** Packets relayed from peers to the client. */
  toClientPackets = 0;
  /** Payload bytes relayed from peers to the client. */
  toClientBytes = 0;

  /** Whether any counter differs from `other`. */
  differsFrom(other: TrafficCounters): boolean {
    return (
      this.toPeerPackets !== other.toPeerPackets ||
      this.toPeerBytes !== other.toPeerBytes ||
      this.toClientPackets !== other.toClientPackets ||
      this.toClientBytes !== other.toClientBytes
    );
  }

  /** The counters minus `base`, as a new object. */
  minus(base: TrafficCounters): TrafficCounters {
    const delta = new TrafficCounters();
    delta.toPeerPackets = this.toPeerPackets - base.toPeerPackets;
    delta.toPeerBytes = this.toPeerBytes - base.toPeerBytes;
    delta.toClientPackets = this.toClientPackets - base.toClientPackets;
    delta.toClientBytes = this.toClientBytes - base.toClientBytes;
    return delta;
  }

  /** Copies `other` into this object. */
  copyFrom(other: TrafficCounters): void {
    this.toPeerPackets = other.toPeerPackets;
    this.toPeerBytes = other.toPeerBytes;
    this.toClientPackets = other.toClientPackets;
    this.toClientBytes = other.toClientBytes;
  }
}
