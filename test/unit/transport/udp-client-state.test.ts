// Per-client state of a UDP listener ends with the allocation (issue 7): once the allocations of
// its clients end (Refresh 0, expiry, host close), the listener's known-client count is back at
// its baseline, on an IPv4 socket and on a dual-stack `::` socket serving IPv4 clients.
import { afterEach, describe, expect, it } from 'vitest';
import { PORTS } from '../../helpers/ports.js';
import { startTestHost, type TestHost } from '../../helpers/test-host.js';
import { TurnClient } from '../../helpers/turn-client.js';

/** After turn-udp.test.ts's relays (relayMin + 40 .. + 79). */
const BASE = PORTS.transport.relayMin + 80;
const CLIENTS = 6;

let hosts: TestHost[] = [];
let clients: TurnClient[] = [];

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(hosts.map((h) => h.close()));
  clients = [];
  hosts = [];
});

async function allocateAll(host: TestHost, count: number): Promise<TurnClient[]> {
  const { username, password } = host.credential('acme');
  const opened: TurnClient[] = [];
  for (let i = 0; i < count; i++) {
    const client = await TurnClient.open({
      address: '127.0.0.1',
      port: host.udp.address.port,
      username,
      password,
    });
    clients.push(client);
    expect((await client.allocate()).code).toBe(200);
    opened.push(client);
  }
  return opened;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

describe('UDP client state ends with the allocation', () => {
  for (const listenIp of ['127.0.0.1', '::']) {
    it(`on ${listenIp}: Refresh 0 and expiry bring knownClients back to its baseline`, async () => {
      const offset = listenIp === '::' ? 10 : 0;
      const host = await startTestHost({
        listenIp,
        relayMin: BASE + offset,
        relayMax: BASE + offset + 9,
        limits: { defaultLifetime: 1, maxLifetime: 1 },
      });
      hosts.push(host);
      const baseline = host.udp.knownClients;
      expect(baseline).toBe(0);

      const ended = await allocateAll(host, CLIENTS);
      expect(host.udp.knownClients).toBe(baseline + CLIENTS);
      expect(host.host.knownUdpClients).toBe(baseline + CLIENTS);

      // Half end by Refresh 0: each is forgotten as its allocation is deleted.
      for (const client of ended.slice(0, CLIENTS / 2)) expect((await client.refresh(0)).code).toBe(200);
      expect(host.record.deleted.length).toBe(CLIENTS / 2);
      expect(host.udp.knownClients).toBe(baseline + CLIENTS / 2);

      // The other half go silent and expire on the tick.
      await until(() => host.record.deleted.length === CLIENTS, 10_000);
      const reasons = host.record.deleted.map((d) => d.reason);
      expect(reasons.filter((r) => r === 'refresh-0').length).toBe(CLIENTS / 2);
      expect(reasons.filter((r) => r === 'expired').length).toBe(CLIENTS / 2);
      expect(host.host.core.allocationCount).toBe(0);
      expect(host.udp.knownClients).toBe(baseline);
      expect(host.host.knownUdpClients).toBe(baseline);

      // A client that comes back is served as new.
      const [again] = ended;
      expect((await again!.allocate()).code).toBe(200);
      expect(host.udp.knownClients).toBe(baseline + 1);
      await host.host.close();
      expect(host.udp.knownClients).toBe(baseline);
    }, 20_000);
  }
});
