// TURN_DATA_PLANE=native where the addon cannot be loaded (issue 9): the node starts on the JS data
// path with one warning saying why, and relays. Runs whether or not the addon built here: the
// addon path is pointed at a file that does not exist (ICEGATE_NATIVE_ADDON).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTS } from '../helpers/ports.js';
import { relayedAddress, TestTurnClient } from '../helpers/turn-client.js';
import { type NativeNode, startNativeNode } from './native-harness.js';

let node: NativeNode;
const saved = process.env.ICEGATE_NATIVE_ADDON;

beforeAll(async () => {
  process.env.ICEGATE_NATIVE_ADDON = '/nonexistent/icegate_native.node';
  node = await startNativeNode(PORTS.nativeFallback, {}, { requireNative: false });
}, 30_000);

afterAll(async () => {
  if (saved === undefined) delete process.env.ICEGATE_NATIVE_ADDON;
  else process.env.ICEGATE_NATIVE_ADDON = saved;
  await node?.close();
});

describe('TURN_DATA_PLANE=native without a loadable addon', () => {
  it('runs the JS data path after one warning, and relays', async () => {
    expect(node.node.config.TURN_DATA_PLANE).toBe('native');
    expect(node.node.relay.native).toBeNull();
    const warnings = node.logger.lines.filter((l) => l.level === 'warn' && l.message.includes('native'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toBe('native data plane unavailable; using the JS data path');
    expect(String(warnings[0]?.fields.reason)).toContain('/nonexistent/icegate_native.node');
    const started = node.logger.lines.find((l) => l.message === 'icegate started');
    expect(started?.fields.dataPlane).toBe('js');

    const { username, password } = node.credential();
    const client = await TestTurnClient.open(
      { family: 'IPv4', address: '127.0.0.1', port: node.turnPort },
      username,
      password,
    );
    try {
      const allocation = await client.allocate();
      expect(allocation.code).toBe(200);
      expect(relayedAddress(allocation).port).toBeGreaterThanOrEqual(PORTS.nativeFallback.relayMin);
      expect((await client.refresh(0)).code).toBe(200);
    } finally {
      await client.close();
    }
  });
});
