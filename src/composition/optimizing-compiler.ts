// Memory at rest (issue 19): `npm start` (and the image) run Node with --no-opt, and the node turns
// V8's optimizing compiler (TurboFan) on once it is up. Start-up loads some three hundred modules;
// the ES module loader's URL and path helpers run hot enough there for TurboFan to compile them,
// and TurboFan's first use touches about 3.6 MiB of the Node binary's compiler code and leaves its
// working memory behind: an idle node held 67.7 MiB RSS with it, 63.0 MiB without (Node 20; Node 24
// 77.1 and 72.4; /proc/PID/status 8 s after start). Nothing that runs at start-up needs optimizing;
// the relay's hot paths are compiled as soon as traffic makes them hot, as before.
//
// v8.setFlagsFromString after start-up is allowed by Node 20 and 24 (their V8 does not freeze its
// flags: --no-freeze-flags-after-init is the default) and re-enables tiering for every function,
// those that ran at start-up included. test/integration/optimizing-compiler.test.ts checks that a
// function made hot after the call is optimized, on this Node and (.ci/run) on Node 24.
import { setFlagsFromString } from 'node:v8';

/** Command-line flags that turn TurboFan off (`--opt` is V8's alias of `--turbofan`). */
const TURBOFAN_OFF = ['--no-opt', '--no-turbofan'];

/**
 * Turns TurboFan on when the process was started with it off; true when it did. A no-op for a
 * process started without --no-opt (tests, `node dist/src/cli/main.js serve` by hand).
 */
export function enableOptimizingCompiler(
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = setFlagsFromString,
): boolean {
  if (!execArgv.some((flag) => TURBOFAN_OFF.includes(flag))) return false;
  setFlags('--turbofan');
  return true;
}
