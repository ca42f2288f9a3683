// TURN_DATA_PLANE (issue 9): native by default (the JS path when the addon does not load, decided at
// start by chooseDataPlane), js on request, anything else refused by name.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

describe('TURN_DATA_PLANE', () => {
  it('defaults to native, also when empty', () => {
    expect(loadConfig({}).TURN_DATA_PLANE).toBe('native');
    expect(loadConfig({ TURN_DATA_PLANE: '' }).TURN_DATA_PLANE).toBe('native');
  });

  it('takes native and js', () => {
    expect(loadConfig({ TURN_DATA_PLANE: 'native' }).TURN_DATA_PLANE).toBe('native');
    expect(loadConfig({ TURN_DATA_PLANE: 'js' }).TURN_DATA_PLANE).toBe('js');
  });

  it('refuses other values, naming the variable', () => {
    expect(() => loadConfig({ TURN_DATA_PLANE: 'dpdk' })).toThrow(ConfigError);
    expect(() => loadConfig({ TURN_DATA_PLANE: 'dpdk' })).toThrow(/TURN_DATA_PLANE.*native or js.*"dpdk"/);
  });
});
