// The file descriptor of a bound dgram socket, so native code can send from the listening port.
import type dgram from 'node:dgram';

function fdOfHandle(handle: unknown): number | null {
  if (typeof handle !== 'object' || handle === null) return null;
  const fd: unknown = (handle as { fd?: unknown }).fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : null;
}

/**
 * Reads the fd libuv holds for `socket` (Linux). Node has no public API for it; the handle sits
 * in the socket's internal 'state symbol' slot (the `_handle` getter would print DEP0112).
 * Anything unexpected yields null, never a throw, so the caller falls back to the JS path.
 */
export function listeningFd(socket: dgram.Socket): number | null {
  const stateKey = Object.getOwnPropertySymbols(socket).find((key) => key.description === 'state symbol');
  if (stateKey === undefined) return null;
  const state: unknown = (socket as unknown as Record<symbol, unknown>)[stateKey];
  if (typeof state !== 'object' || state === null) return null;
  return fdOfHandle((state as { handle?: unknown }).handle);
}
