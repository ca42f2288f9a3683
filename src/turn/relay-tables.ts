// Relay tables for a data plane outside the core (ActionSink.relayTableChanged, issue 9): after each
// change the whole table of each relay of the allocation, so the plane can replace its own copy.
// Expiry stays here (RFC 8656 section 9: 300 s permissions, section 12: 600 s channels): tick()
// pushes the table again once the first entry it listed has expired.
import type { TransportAddress } from '../stun/index.js';
import type { Allocation } from './allocation.js';
import type { TurnContext } from './context.js';
import type { RelayChannel, RelayTableCause } from './hooks.js';

/** Pushes the tables of every relay of `allocation` to a sink that wants them; a no-op for others. */
export function pushRelayTables(ctx: TurnContext, allocation: Allocation, cause: RelayTableCause): void {
  const sink = ctx.sink;
  if (sink.relayTableChanged === undefined || allocation.closed) return;
  const now = ctx.clock();
  let deadline = Number.POSITIVE_INFINITY;
  const permissions: Record<TransportAddress['family'], string[]> = { IPv4: [], IPv6: [] };
  const channels: Record<TransportAddress['family'], RelayChannel[]> = { IPv4: [], IPv6: [] };
  for (const permission of allocation.permissions.values()) {
    if (permission.expiresAt <= now) continue;
    permissions[familyOfIp(permission.ip)].push(permission.ip);
    if (permission.expiresAt < deadline) deadline = permission.expiresAt;
  }
  for (const binding of allocation.channels.values()) {
    if (binding.expiresAt <= now) continue;
    channels[binding.peer.family].push({ number: binding.number, peer: { ...binding.peer } });
    if (binding.expiresAt < deadline) deadline = binding.expiresAt;
  }
  allocation.tableDeadline = deadline;
  const tuple = allocation.tuple;
  const family = allocation.relay.family;
  sink.relayTableChanged(
    { relayId: allocation.relayId, tuple, permissions: permissions[family], channels: channels[family] },
    cause,
  );
  const additional = allocation.additional;
  if (additional !== null) {
    const second = additional.address.family;
    sink.relayTableChanged(
      { relayId: additional.relayId, tuple, permissions: permissions[second], channels: channels[second] },
      cause,
    );
  }
}

/** Adds what the sink relayed itself for `allocation`'s relays to its counters (collectTraffic). */
export function collectRelayTraffic(ctx: TurnContext, allocation: Allocation): void {
  const sink = ctx.sink;
  if (sink.collectTraffic === undefined) return;
  sink.collectTraffic(allocation.relayId, allocation.traffic);
  if (allocation.additional !== null) sink.collectTraffic(allocation.additional.relayId, allocation.traffic);
}

/** Permission IPs are the codec's text form: IPv6 has colons, IPv4 never. */
function familyOfIp(ip: string): TransportAddress['family'] {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}
