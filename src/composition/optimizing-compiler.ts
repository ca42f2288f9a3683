// Memory at rest (issue 19): `npm start` (and the image) run Node with --no-opt --no-maglev, and
// the node turns V8's optimizing compiler (TurboFan) on once it is up. Start-up loads some three
// hundred modules; the ES module loader's URL and path helpers run hot enough there for TurboFan
// to compile them, and TurboFan's first use touches about 3.6 MiB of the Node binary's compiler
// code and leaves its working memory behind: an idle node held 67.7 MiB RSS with it, 63.0 MiB
// without (Node 20; Node 24: 77.1, and 69.5 with Maglev off too; /proc/PID/status 8 s after start).
// Nothing that runs at start-up needs optimizing.
//
// When: at the first of (OptimizerSwitch) start-up settled (after the idle collection, 5 s after
// start), the first HTTP request that is not a health probe, the first allocation. Turned on at
// once after start, TurboFan compiled the functions start-up had made hot on their next call (path
// helpers, nothing the relay needs) and an idle node held its few MiB all the same; turned on only
// after 5 s, a node in service from its first second (a credential burst after a deploy) answered
// at 0.64x its warm rate with p99 40 ms for those seconds (bench phase 3, 21:16 UTC).
//
// v8.setFlagsFromString after start-up is allowed by Node 20 and 24 (their V8 does not freeze its
// flags: --no-freeze-flags-after-init is the default) and re-enables tiering for every function,
// those that ran at start-up included. Only TurboFan is turned back on. Node 24's V8 also has
// Maglev, a mid tier on by default, which compiles at start-up as well (npm start turns it off
// with --no-maglev: about 3 MiB more at rest on Node 24); turned back on at run time it left
// functions at Maglev without tiering up to TurboFan and ran a hot loop at 0.6x its speed (Node
// 24.22, 2026-12-07), while TurboFan alone ran it at full speed. So a node runs without Maglev,
// as Node 20 runs by default: interpreter, Sparkplug, then TurboFan.
// test/integration/optimizing-compiler.test.ts checks that functions hot before and after the call
// reach TurboFan, on this Node and (.ci/run) on Node 24.
import type { IncomingMessage, Server } from 'node:http';
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
  if (!startedWithoutTurbofan(execArgv)) return false;
  setFlags('--turbofan');
  return true;
}

/** Whether the process was started with TurboFan off. */
export function startedWithoutTurbofan(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.some((flag) => TURBOFAN_OFF.includes(flag));
}

/** Turns TurboFan on once, at the first of the moments the caller reports or watches. */
export class OptimizerSwitch {
  #on = false;
  readonly #stops: (() => void)[] = [];

  /** `enable` turns it on (enableOptimizingCompiler); `onEnabled` hears why, once. */
  constructor(
    private readonly enable: () => boolean,
    private readonly onEnabled: (reason: string) => void,
  ) {}

  get on(): boolean {
    return this.#on;
  }

  turnOn(reason: string): void {
    if (this.#on) return;
    this.#on = true;
    this.stop();
    if (this.enable()) this.onEnabled(reason);
  }

  /** The first request to `server` for a path outside `probes` turns it on. */
  watchHttp(server: Server, probes: ReadonlySet<string>): void {
    const listener = (req: IncomingMessage) => {
      const url = req.url ?? '';
      const query = url.indexOf('?');
      if (probes.has(query < 0 ? url : url.slice(0, query))) return;
      this.turnOn('first HTTP request');
    };
    server.on('request', listener);
    this.#stops.push(() => server.off('request', listener));
  }

  /** Looks at `created()` every `everyMs`; the first allocation turns it on. */
  watchAllocations(created: () => number, everyMs = 100): void {
    const timer = setInterval(() => {
      if (created() > 0) this.turnOn('first allocation');
    }, everyMs);
    timer.unref();
    this.#stops.push(() => clearInterval(timer));
  }

  /** Stops watching (on, or the node closing). */
  stop(): void {
    for (const stop of this.#stops.splice(0)) stop();
  }
}
