// Dispatch of client packets: ChannelData to the data path, STUN messages by class and method.
import { decodeMessage, Method, StunClass, type StunMessage } from '../stun/index.js';
import { handleAllocate } from './allocate.js';
import { authenticate } from './authenticate.js';
import { handleBinding } from './binding.js';
import { handleChannelBind } from './channel-bind.js';
import { relayFromClient } from './channel-data.js';
import type { TurnContext } from './context.js';
import { handleCreatePermission } from './create-permission.js';
import type { FiveTuple } from './five-tuple.js';
import { handleRefresh } from './refresh.js';
import { TurnRequest } from './request.js';
import { handleSendIndication } from './send-indication.js';
import { PENDING, TransactionCache } from './transaction-cache.js';

type RequestHandler = (ctx: TurnContext, request: TurnRequest) => void;

/** Authenticated request methods and their handlers (Binding is answered without authentication). */
const HANDLERS: ReadonlyMap<number, RequestHandler> = new Map<number, RequestHandler>([
  [Method.Allocate, handleAllocate],
  [Method.Refresh, handleRefresh],
  [Method.CreatePermission, handleCreatePermission],
  [Method.ChannelBind, handleChannelBind],
]);

/** Routes a client datagram: ChannelData to the data path, STUN by class and method. */
export function dispatchClientPacket(ctx: TurnContext, tuple: FiveTuple, data: Buffer): void {
  if (data.length === 0) {
    ctx.drop('empty');
    return;
  }
  // The first two bits tell STUN (0b00) from ChannelData (0b01), RFC 8656 section 12.
  const top = data[0]! >> 6;
  if (top === 1) {
    relayFromClient(ctx, tuple, data);
    return;
  }
  if (top !== 0) {
    ctx.drop('not-stun');
    return;
  }
  const decoded = decodeMessage(data);
  if (!decoded.ok) {
    ctx.drop('malformed');
    return;
  }
  const message = decoded.message;
  if (message.cls === StunClass.Request) {
    dispatchRequest(ctx, tuple, message);
    return;
  }
  if (message.cls !== StunClass.Indication) {
    ctx.drop('unexpected-class');
    return;
  }
  // Indications with unknown comprehension-required attributes are dropped, RFC 8489 section 6.3.2.
  if (message.unknownRequired.length > 0) {
    ctx.drop('unknown-attribute');
    return;
  }
  if (message.method === Method.Send) {
    handleSendIndication(ctx, tuple, message);
    return;
  }
  // A Binding indication is a keepalive (RFC 8489 section 6.3.2): nothing to do.
  if (message.method !== Method.Binding) ctx.drop('unknown-indication');
}

/** Answers a request: Binding without authentication, the TURN methods after it. */
function dispatchRequest(ctx: TurnContext, tuple: FiveTuple, message: StunMessage): void {
  if (message.method === Method.Binding) {
    const request = new TurnRequest(tuple, message, '');
    if (message.unknownRequired.length > 0) {
      unknownAttributes(ctx, request);
      return;
    }
    handleBinding(ctx, request);
    return;
  }
  const handler = HANDLERS.get(message.method);
  if (handler === undefined) {
    // RFC 8489 section 6.3.1: a request of a method the server does not know gets 400.
    ctx.fail(new TurnRequest(tuple, message, ''), 400, 'Unknown method');
    return;
  }
  const cacheKey = TransactionCache.keyOf(tuple.key, message.transactionId);
  const cached = ctx.transactions.lookup(cacheKey, ctx.clock());
  if (cached === PENDING) {
    ctx.drop('retransmission-in-progress');
    return;
  }
  if (cached !== undefined) {
    ctx.sink.sendToClient(tuple, cached);
    return;
  }
  const request = new TurnRequest(tuple, message, cacheKey);
  if (!authenticate(ctx, request)) return;
  // Unknown attributes are checked once authentication is done (RFC 8489 section 6.3), so the
  // 420 is signed.
  if (message.unknownRequired.length > 0) {
    unknownAttributes(ctx, request);
    return;
  }
  handler(ctx, request);
}

/** 420 with UNKNOWN-ATTRIBUTES, RFC 8489 section 6.3.1. */
function unknownAttributes(ctx: TurnContext, request: TurnRequest): void {
  const unknown = request.message.unknownRequired;
  ctx.fail(request, 420, undefined, (b) => b.addUnknownAttributes(unknown));
}
