import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

describe('loadConfig', () => {
  it('applies the defaults of DESIGN.md with an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      TURN_LISTEN_IP: '0.0.0.0',
      TURN_PORT: 3478,
      TURN_TLS_PORT: 5349,
      TURN_MIN_PORT: 49152,
      TURN_MAX_PORT: 65535,
      TURN_REALM: 'icegate',
      TURN_ALLOW_LOOPBACK_PEERS: false,
      TURN_ALLOCATIONS_PER_LICENSE: 4,
      HTTP_PORT: 8080,
      DATA_DIR: './data',
      embedded: true,
    });
    expect(c.relayIp).toBe('0.0.0.0');
  });

  it('accepts closing days the reissue due dates can use', () => {
    expect(loadConfig({ SUPPORT_CLOSING_DAYS: '08-13..08-15,12-29..01-03' }).SUPPORT_CLOSING_DAYS).toBe(
      '08-13..08-15,12-29..01-03',
    );
  });

  it.each([
    ['TURN_PORT', 'abc'],
    ['TURN_PORT', '70000'],
    ['TURN_LISTEN_IP', 'localhost'],
    ['TURN_ALLOW_LOOPBACK_PEERS', 'maybe'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'not a url'],
    ['TURN_SECRETS', 'short'],
    ['TURN_ALLOCATIONS_PER_LICENSE', '0'],
    ['TURN_DENIED_PEERS', '10.0.0.0/33'],
    ['TURN_ALLOWED_PEERS', '203.0.113.0/24,nonsense'],
    ['SUPPORT_CLOSING_DAYS', '08-13..08-32'],
    ['SUPPORT_CLOSING_DAYS', 'summer'],
  ])('names %s when its value %j is bad', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(
      new RegExp(`^invalid configuration: ${variable}:`),
    );
  });

  it('serves metrics on their own listener: METRICS_PORT 9464 on 0.0.0.0 unless set, never HTTP_PORT', () => {
    expect(loadConfig({})).toMatchObject({ METRICS_PORT: 9464, METRICS_LISTEN_IP: '0.0.0.0' });
    expect(loadConfig({ METRICS_PORT: '9100', METRICS_LISTEN_IP: '::1' })).toMatchObject({
      METRICS_PORT: 9100,
      METRICS_LISTEN_IP: '::1',
    });
    expect(() => loadConfig({ METRICS_PORT: '8080' })).toThrow(
      /^invalid configuration: METRICS_PORT: .*HTTP_PORT/,
    );
    expect(() => loadConfig({ METRICS_PORT: 'x' })).toThrow(/^invalid configuration: METRICS_PORT:/);
    expect(() => loadConfig({ METRICS_LISTEN_IP: 'localhost' })).toThrow(
      /^invalid configuration: METRICS_LISTEN_IP:/,
    );
  });

  it('rejects an inverted relay port range and a certificate without a key', () => {
    expect(() => loadConfig({ TURN_MIN_PORT: '60000', TURN_MAX_PORT: '50000' })).toThrow(/TURN_MIN_PORT/);
    expect(() => loadConfig({ TURN_TLS_CERT: '/x.pem' })).toThrow(/TURN_TLS_CERT/);
  });

  it('never echoes a secret or URL value in its message', () => {
    try {
      loadConfig({ DATABASE_URL: 'mysql://user:pw@host/db' });
      expect.unreachable();
    } catch (err) {
      expect(String(err)).not.toContain('pw@host');
    }
  });

  it('splits comma lists and reads booleans', () => {
    const c = loadConfig({
      TURN_SECRETS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb',
      TURN_ALLOW_LOOPBACK_PEERS: 'true',
      TURN_DENIED_PEERS: '10.0.0.0/8,,192.0.2.0/24',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
    });
    expect(c.TURN_SECRETS).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    expect(c.TURN_ALLOW_LOOPBACK_PEERS).toBe(true);
    expect(c.TURN_DENIED_PEERS).toEqual(['10.0.0.0/8', '192.0.2.0/24']);
    expect(c.embedded).toBe(false);
  });
});
