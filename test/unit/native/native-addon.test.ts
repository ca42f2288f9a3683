import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/log/logger.js';
import {
  chooseDataPlane,
  hasStreamSupport,
  loadNativeDataPlane,
  nativeAddonPath,
  parseDataPlaneMode,
  requireNativeAddon,
  streamPlaneFromEnv,
} from '../../../src/transport/native/index.js';

// `npm ci` builds the addon on every machine with g++ and Node's headers (CI included), so a
// missing build is a failure here, not a skip. ICEGATE_SKIP_NATIVE=1 is the explicit opt-out.
const skipNative = process.env.ICEGATE_SKIP_NATIVE === '1';

describe('native addon build', () => {
  it.skipIf(skipNative)('was built by npm ci (scripts/build-native.mjs)', () => {
    expect(
      nativeAddonPath(),
      'native/build/Release/icegate_native.node is missing: run `npm run build:native` and read native/build-native.log',
    ).not.toBeNull();
  });

  it.skipIf(skipNative)('loads and is chosen when TURN_DATA_PLANE=native', () => {
    expect(chooseDataPlane('native').mode).toBe('native');
  });
});

describe('TURN_DATA_PLANE', () => {
  it('defaults to native and accepts native|js only', () => {
    expect(parseDataPlaneMode(undefined)).toBe('native');
    expect(parseDataPlaneMode('')).toBe('native');
    expect(parseDataPlaneMode('js')).toBe('js');
    expect(parseDataPlaneMode('native')).toBe('native');
    expect(() => parseDataPlaneMode('NATIVE')).toThrow(/TURN_DATA_PLANE/);
  });

  it('never loads the addon when js is asked for', () => {
    expect(chooseDataPlane('js')).toEqual({ mode: 'js' });
  });
});

describe('ICEGATE_NATIVE_STREAMS', () => {
  it('defaults to native and accepts native|js only', () => {
    expect(streamPlaneFromEnv({})).toBe('native');
    expect(streamPlaneFromEnv({ ICEGATE_NATIVE_STREAMS: '' })).toBe('native');
    expect(streamPlaneFromEnv({ ICEGATE_NATIVE_STREAMS: 'native' })).toBe('native');
    expect(streamPlaneFromEnv({ ICEGATE_NATIVE_STREAMS: 'js' })).toBe('js');
    expect(() => streamPlaneFromEnv({ ICEGATE_NATIVE_STREAMS: 'tcp' })).toThrow(/ICEGATE_NATIVE_STREAMS/);
  });

  it.skipIf(skipNative)('finds the stream functions in an addon built from this tree', () => {
    expect(hasStreamSupport(requireNativeAddon())).toBe(true);
  });
});

describe('when the addon is missing', () => {
  const saved = process.env.ICEGATE_NATIVE_ADDON;
  afterEach(() => {
    if (saved === undefined) delete process.env.ICEGATE_NATIVE_ADDON;
    else process.env.ICEGATE_NATIVE_ADDON = saved;
  });

  it('falls back to js with one warning naming the reason', () => {
    process.env.ICEGATE_NATIVE_ADDON = '/nonexistent/icegate_native.node';
    const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
    const logger: Logger = {
      error() {},
      warn(message, fields) {
        warnings.push({ message, fields });
      },
      info() {},
      debug() {},
      child() {
        return logger;
      },
    };
    expect(loadNativeDataPlane(logger)).toBeNull();
    expect(chooseDataPlane('native', logger)).toEqual({ mode: 'js' });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]?.message).toMatch(/using the JS data path/);
    expect(String(warnings[0]?.fields?.reason)).toMatch(/not built/);
  });
});
