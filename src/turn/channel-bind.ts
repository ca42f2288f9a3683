// ChannelBind, RFC 8656 section 12.2.
import { Attr } from '../stun/index.js';
import { readBindableChannel } from './channel-number.js';
import type { TurnContext } from './context.js';
import { existingAllocation } from './existing-allocation.js';
import { readPeerAddresses } from './peer-addresses.js';
import { peersAcceptable } from './peer-policy.js';
import { pushRelayTables } from './relay-tables.js';
import type { TurnRequest } from './request.js';

/** Handles an authenticated ChannelBind request. */
export function handleChannelBind(ctx: TurnContext, request: TurnRequest): void {
  const allocation = existingAllocation(ctx, request);
  if (allocation === null) return;

  // One CHANNEL-NUMBER in the bindable range and one XOR-PEER-ADDRESS.
  const channelValue = request.attribute(Attr.CHANNEL_NUMBER);
  const channel = channelValue === undefined ? null : readBindableChannel(channelValue);
  if (channel === null) {
    ctx.fail(request, 400, 'Missing or bad CHANNEL-NUMBER');
    return;
  }
  const peers = readPeerAddresses(request);
  if (peers === null || peers.length !== 1) {
    ctx.fail(request, 400, 'Missing or bad XOR-PEER-ADDRESS');
    return;
  }
  const peer = peers[0]!;

  const now = ctx.clock();
  const { channels, permissions } = allocation;
  // Neither the channel bound to another peer, nor the peer bound to another channel.
  const byNumber = channels.live(channel, now);
  if (
    byNumber !== undefined &&
    (byNumber.peer.address !== peer.address || byNumber.peer.port !== peer.port)
  ) {
    ctx.fail(request, 400, 'Channel bound to another peer');
    return;
  }
  const byPeer = channels.liveForPeer(permissions.get(peer.address), peer.port, now);
  if (byPeer !== undefined && byPeer.number !== channel) {
    ctx.fail(request, 400, 'Peer bound to another channel');
    return;
  }
  if (!peersAcceptable(ctx, request, allocation, peers)) return;

  channels.sweep(now);
  permissions.sweep(now);
  if (byNumber === undefined && channels.size >= ctx.limits.maxChannelsPerAllocation) {
    ctx.fail(request, 508, 'Too many channels');
    return;
  }
  if (
    !permissions.allows(peer.address, now) &&
    permissions.liveCount(now) >= ctx.limits.maxPermissionsPerAllocation
  ) {
    ctx.fail(request, 508, 'Too many permissions');
    return;
  }
  // Section 12.2: the binding (channelLifetime, 600 s) also installs or refreshes the permission
  // for the peer's IP. The permission is kept for the channel's lifetime, not only the permission
  // lifetime (300 s), as coturn does: werift and aioice refresh only their channels (about every
  // 500 s) and never send CreatePermission, so a 300 s permission would cut peer-to-client data
  // mid-call (issue 16; docs/interoperability.md).
  const channelExpiresAt = now + ctx.limits.channelLifetime * 1000;
  const permissionExpiresAt = Math.max(now + ctx.limits.permissionLifetime * 1000, channelExpiresAt);
  const permission = permissions.install(peer.address, permissionExpiresAt);
  channels.bind(channel, peer, permission, channelExpiresAt);
  pushRelayTables(ctx, allocation, 'channel');
  ctx.succeed(request);
}
