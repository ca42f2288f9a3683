// TURN_PERMISSION_LIFETIME and TURN_CHANNEL_LIFETIME (issue 16): coturn's defaults, shorter values
// accepted for tests, nonsense refused with the variable named.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

describe('permission and channel lifetimes', () => {
  it('default to RFC 8656: 300 s and 600 s', () => {
    const c = loadConfig({});
    expect(c.TURN_PERMISSION_LIFETIME).toBe(300);
    expect(c.TURN_CHANNEL_LIFETIME).toBe(600);
  });

  it('accept shortened values down to 1 s for tests', () => {
    const c = loadConfig({ TURN_PERMISSION_LIFETIME: '3', TURN_CHANNEL_LIFETIME: '9' });
    expect(c.TURN_PERMISSION_LIFETIME).toBe(3);
    expect(c.TURN_CHANNEL_LIFETIME).toBe(9);
  });

  it.each([
    ['TURN_PERMISSION_LIFETIME', '0'],
    ['TURN_PERMISSION_LIFETIME', '2.5'],
    ['TURN_PERMISSION_LIFETIME', '3601'],
    ['TURN_CHANNEL_LIFETIME', 'ten'],
    ['TURN_CHANNEL_LIFETIME', '-1'],
  ])('names %s when its value %j is bad', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(
      new RegExp(`^invalid configuration: ${variable}:`),
    );
  });
});

describe('TURN_RELAY_SOCKET_BUFFER', () => {
  it('defaults to 2 MiB, the smallest size that held a 1,000 x 1,000 B burst here', () => {
    expect(loadConfig({}).TURN_RELAY_SOCKET_BUFFER).toBe(2 * 1024 * 1024);
    expect(loadConfig({ TURN_RELAY_SOCKET_BUFFER: '4194304' }).TURN_RELAY_SOCKET_BUFFER).toBe(4_194_304);
  });

  it.each(['1000', '2mb', String(128 * 1024 * 1024)])(
    'names the variable when its value %j is bad',
    (value) => {
      expect(() => loadConfig({ TURN_RELAY_SOCKET_BUFFER: value })).toThrow(
        /^invalid configuration: TURN_RELAY_SOCKET_BUFFER:/,
      );
    },
  );
});
