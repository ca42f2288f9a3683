import { networkInterfaces } from 'node:os';
import { parseIpAddress } from './ip-address.js';

/** Every address of every local interface (zone ids dropped), for a server bound to 0.0.0.0 or ::. */
export function localInterfaceAddresses(): string[] {
  const addresses = new Set<string>();
  for (const infos of Object.values(networkInterfaces())) {
    for (const info of infos ?? []) {
      const address = info.address.split('%')[0]!;
      if (parseIpAddress(address) !== null) addresses.add(address);
    }
  }
  return [...addresses];
}

/**
 * The server addresses the peer filter must deny: the configured listen, relay and external
 * addresses, where a wildcard (0.0.0.0 or ::) stands for every local interface address, since a
 * socket bound to the wildcard answers on all of them.
 */
export function resolveServerAddresses(
  configured: readonly string[],
  interfaces: () => string[] = localInterfaceAddresses,
): string[] {
  const result = new Set<string>();
  let wildcard = false;
  for (const address of configured) {
    if (address === '0.0.0.0' || address === '::') wildcard = true;
    else result.add(address);
  }
  if (wildcard) for (const address of interfaces()) result.add(address);
  return [...result];
}
