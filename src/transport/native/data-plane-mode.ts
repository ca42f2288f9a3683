// TURN_DATA_PLANE=native|js: which path relays UDP clients' packets (issue 9); `native` is the
// default where the addon loads, `js` the portable fallback. src/config.ts validates the variable
// and src/main.ts calls chooseDataPlane.
import type { Logger } from '../../log/logger.js';
import { loadNativeDataPlane, type NativeDataPlane } from './native-data-plane.js';

/** The data path requested by configuration. */
export type DataPlaneMode = 'native' | 'js';

/** Parses TURN_DATA_PLANE; unset or empty means `native`. Throws on any other value. */
export function parseDataPlaneMode(value: string | undefined): DataPlaneMode {
  if (value === 'js') return 'js';
  if (value === undefined || value === '' || value === 'native') return 'native';
  throw new Error(`TURN_DATA_PLANE must be "native" or "js", got "${value}"`);
}

/** The path used: native when asked for (the default) and loadable, else js (with a log line). */
export type DataPlaneChoice = { mode: 'native'; plane: NativeDataPlane } | { mode: 'js' };

/** Resolves the requested mode against what this machine built. */
export function chooseDataPlane(mode: DataPlaneMode, logger?: Logger): DataPlaneChoice {
  if (mode === 'js') return { mode: 'js' };
  const plane = loadNativeDataPlane(logger);
  return plane === null ? { mode: 'js' } : { mode: 'native', plane };
}

/** Which path serves TCP clients when the data plane is native: ICEGATE_NATIVE_STREAMS. */
export type StreamPlaneMode = 'native' | 'js';

/**
 * ICEGATE_NATIVE_STREAMS: `native` (default) lets the native plane own TCP client connections when
 * the data plane is native and the addon has stream support; `js` keeps them on the JS stream path
 * (src/transport/stream-listener.ts). Throws on any other value.
 */
export function streamPlaneFromEnv(env: NodeJS.ProcessEnv = process.env): StreamPlaneMode {
  const raw = env.ICEGATE_NATIVE_STREAMS;
  if (raw === undefined || raw === '' || raw === 'native') return 'native';
  if (raw === 'js') return 'js';
  throw new Error(`ICEGATE_NATIVE_STREAMS must be "native" or "js", got "${raw}"`);
}
