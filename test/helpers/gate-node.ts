// A whole icegate node for browser tests: the HTTP gate (createHttpApp over the embedded file store,
// a tenant with an active support period and a license key) in front of a TurnHost with UDP, TCP
// and TLS listeners sharing its TURN secret, so `POST /v1/ice-servers` answers credentials the relay
// accepts.
import type { Order } from '../../src/entitlement/types.js';
import type { HttpAppDeps, TurnListener } from '../../src/http/index.js';
import type { TurnLimits } from '../../src/turn/index.js';
import {
  fileTestStore,
  startNode,
  type TestNode,
  type TestStore,
  tenantToken,
  tenantWithKey,
} from '../integration/http-harness.js';
import { startTestHost, type TestHost } from './test-host.js';
import { makeTestCertificate, type TestCertificate } from './tls-cert.js';

/** A running gate + relay. */
export interface GateNode {
  host: TestHost;
  node: TestNode;
  /** http://127.0.0.1:PORT */
  url: string;
  listeners: TurnListener[];
  /** The TLS certificate (its certFile is the CA a verifying client trusts). */
  cert: TestCertificate;
  /** A fresh tenant JWT (HS256, kid, exp in 5 minutes) for tenant 'acme'. */
  token(): string;
  close(): Promise<void>;
}

/** An initial order received ten days ago: support active now (DOMAIN.md). */
export function activeOrders(now = Date.now()): Order[] {
  return [
    {
      id: 'browser-1',
      kind: 'initial',
      receivedAt: new Date(now - 10 * 86_400_000).toISOString(),
      licenses: 10,
    },
  ];
}

/** Starts the relay, then the gate advertising its three listeners. */
export async function startGateNode(options: {
  relayMin: number;
  relayMax: number;
  http?: Partial<HttpAppDeps>;
  /** TURN core limits, e.g. shortened lifetimes. */
  limits?: Partial<TurnLimits>;
}): Promise<GateNode> {
  const cert: TestCertificate = await makeTestCertificate();
  let host: TestHost | null = null;
  let store: TestStore | null = null;
  let node: TestNode | null = null;
  try {
    host = await startTestHost({
      relayMin: options.relayMin,
      relayMax: options.relayMax,
      secrets: ['gate-node-turn-secret'],
      tls: { certFile: cert.certFile, keyFile: cert.keyFile },
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    });
    const listeners: TurnListener[] = [
      { transport: 'udp', host: '127.0.0.1', port: host.udp.address.port },
      { transport: 'tcp', host: '127.0.0.1', port: host.tcp.address.port },
      // The certificate names localhost: TLS clients reach it by name.
      { transport: 'tls', host: 'localhost', port: host.tls!.address.port },
    ];
    store = await fileTestStore();
    node = await startNode({
      store: store.store,
      clock: Date.now,
      http: { ring: host.secrets, listeners, ...options.http },
    });
    const licenseKey = await tenantWithKey(store.store, node.licenses, 'acme', activeOrders(), Date.now());
    const started = { host, node, store };
    return {
      host,
      node,
      url: node.app.url,
      listeners,
      cert,
      token: () => tenantToken(licenseKey, Date.now()),
      async close() {
        await started.node.close();
        await started.store.dispose();
        await started.host.close();
        await cert.dispose();
      },
    };
  } catch (error) {
    await node?.close();
    await store?.dispose();
    await host?.close();
    await cert.dispose();
    throw error;
  }
}
