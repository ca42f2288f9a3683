// CreatePermission, RFC 8656 section 10.2: all peers pass, or none is installed.
import type { TurnContext } from './context.js';
import { existingAllocation } from './existing-allocation.js';
import { readPeerAddresses } from './peer-addresses.js';
import { peersAcceptable } from './peer-policy.js';
import { pushRelayTables } from './relay-tables.js';
import type { TurnRequest } from './request.js';

/** Handles an authenticated CreatePermission request. */
export function handleCreatePermission(ctx: TurnContext, request: TurnRequest): void {
  const allocation = existingAllocation(ctx, request);
  if (allocation === null) return;
  const peers = readPeerAddresses(request);
  if (peers === null) {
    ctx.fail(request, 400, 'Missing or bad XOR-PEER-ADDRESS');
    return;
  }
  if (!peersAcceptable(ctx, request, allocation, peers)) return;

  const now = ctx.clock();
  const { permissions } = allocation;
  permissions.sweep(now);
  const fresh = new Set<string>();
  for (const peer of peers) if (!permissions.allows(peer.address, now)) fresh.add(peer.address);
  if (permissions.liveCount(now) + fresh.size > ctx.limits.maxPermissionsPerAllocation) {
    ctx.fail(request, 508, 'Too many permissions');
    return;
  }
  // Section 9: ports are ignored; installing refreshes an existing permission for 300 s.
  const expiresAt = now + ctx.limits.permissionLifetime * 1000;
  for (const peer of peers) permissions.install(peer.address, expiresAt);
  pushRelayTables(ctx, allocation, 'permission');
  ctx.succeed(request);
}
