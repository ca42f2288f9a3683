// The native data plane where the addon cannot be loaded (issue 9): whether TURN_DATA_PLANE is
// unset (native is the default) or asks for native, the node starts on the JS data path with one
// warning saying why, and relays. Runs whether or not the addon built here: the addon path is
// pointed at a file that does not exist (ICEGATE_NATIVE_ADDON). One node at a time (same ports).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PORTS } from '../helpers/ports.js';
import { relayedAddress, TurnClient } from '../helpers/turn-client.js';
import { type NativeNode, startNativeNode } from './native-harness.js';

let node: NativeNode | undefined;
const saved = process.env.ICEGATE_NATIVE_ADDON;

beforeAll(() => {
  process.env.ICEGATE_NATIVE_ADDON = '/nonexistent/icegate_native.node';
});

afterEach(async () => {
  await node?.close();
  node = undefined;
});

afterAll(() => {
  if (saved === undefined) delete process.env.ICEGATE_NATIVE_ADDON;
  else process.env.ICEGATE_NATIVE_ADDON = saved;
});

/** The node ran the JS path after exactly one warning naming the reason, and relays. */
async function expectJsFallback(running: NativeNode): Promise<void> {
  expect(running.node.config.TURN_DATA_PLANE).toBe('native');
  expect(running.node.relay.native).toBeNull();
  const warnings = running.logger.lines.filter((l) => l.level === 'warn' && l.message.includes('native'));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]?.message).toBe('native data plane unavailable; using the JS data path');
  expect(String(warnings[0]?.fields.reason)).toContain('/nonexistent/icegate_native.node');
  const started = running.logger.lines.find((l) => l.message === 'icegate started');
  expect(started?.fields.dataPlane).toBe('js');
  const metrics = await (await fetch(`${running.metricsUrl}/metrics`)).text();
  expect(metrics).toMatch(/^icegate_native_data_threads_active 0$/m);
  // Metrics have their own listener (issue 15 point 6): the API port answers 404 for them.
  expect(running.node.metricsPort()).not.toBe(running.node.httpPort());
  expect((await fetch(`${running.url}/metrics`)).status).toBe(404);

  const { username, password } = running.credential();
  const client = await TurnClient.open({ address: '127.0.0.1', port: running.turnPort, username, password });
  try {
    const allocation = await client.allocate();
    expect(allocation.code).toBe(200);
    expect(relayedAddress(allocation).port).toBeGreaterThanOrEqual(PORTS.nativeFallback.relayMin);
    expect((await client.refresh(0)).code).toBe(200);
  } finally {
    await client.close();
  }
}

describe('the native data plane without a loadable addon', () => {
  it('TURN_DATA_PLANE=native: runs the JS data path after one warning, and relays', async () => {
    node = await startNativeNode(PORTS.nativeFallback, {}, { requireNative: false });
    await expectJsFallback(node);
  });

  it('TURN_DATA_PLANE unset (the default, native): the same fallback and warning', async () => {
    // An empty value is what an unset variable looks like to loadConfig (the harness sets native).
    node = await startNativeNode(PORTS.nativeFallback, { TURN_DATA_PLANE: '' }, { requireNative: false });
    await expectJsFallback(node);
  });
});
