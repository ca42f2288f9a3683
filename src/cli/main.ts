#!/usr/bin/env -S node --no-memory-reducer
// The `icegate` command line. Each group of commands lives in its own module and registers itself
// (see program.ts).
import { processIo } from './cli-io.js';
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), processIo);
// A command may have set process.exitCode itself; only a failure here overrides it.
if (code !== 0) process.exitCode = code;
