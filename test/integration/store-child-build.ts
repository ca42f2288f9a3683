// Compiles one TypeScript entry (and what it imports) to JavaScript so a test can run it in a
// child process that it may kill. The output sits under node_modules/.cache so the compiled
// files still resolve this project's node_modules.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '../..');

/** A compiled entry: the JavaScript file to run, and the directory to remove afterwards. */
export interface ChildBuild {
  script: string;
  dir: string;
}

/** Compiles `entry` (a path relative to the project root) with the project's tsconfig. */
export async function compileForChild(entry: string): Promise<ChildBuild> {
  const cache = join(ROOT, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, 'icegate-child-'));
  const config = {
    extends: join(ROOT, 'tsconfig.json'),
    compilerOptions: {
      outDir: join(dir, 'out'),
      rootDir: ROOT,
      noEmit: false,
      sourceMap: false,
      incremental: false,
    },
    files: [join(ROOT, entry)],
    include: [],
  };
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(config));
  const script = join(dir, 'out', relative(ROOT, join(ROOT, entry))).replace(/\.ts$/, '.js');
  // tsc emits even when files outside the entry's concern have type errors; only a missing
  // output is fatal here (type errors are the job of `npx tsc --noEmit`).
  const result = await promisify(execFile)(
    join(ROOT, 'node_modules', '.bin', 'tsc'),
    ['-p', join(dir, 'tsconfig.json')],
    {
      cwd: ROOT,
    },
  ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  if (!existsSync(script)) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`tsc did not produce ${script}:\n${result.stdout}`);
  }
  return { script, dir };
}
