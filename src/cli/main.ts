#!/usr/bin/env -S node --no-memory-reducer
// The `icegate` command line. Each group of commands lives in its own module and registers itself
// (see program.ts). `icegate serve` with no other argument (what `npm start`, the image and the
// Helm chart run) starts the node without building the command line: commander and the other
// commands' modules would otherwise stay loaded for the node's lifetime (memory at rest).
import { processIo } from './cli-io.js';

const args = process.argv.slice(2);
const code =
  args.length === 1 && args[0] === 'serve'
    ? await (await import('./serve-command.js')).runServe(processIo)
    : await (await import('./program.js')).runCli(args, processIo);
// A command may have set process.exitCode itself; only a failure here overrides it.
if (code !== 0) process.exitCode = code;
