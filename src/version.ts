// icegate's version, read once from its package.json (the one file that states it), so
// `icegate --version`, the build-info metric and `npm start` agree whether or not npm started the
// process (npm_package_version is set only under npm).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The version in icegate's package.json: the nearest one above this module (src/ or dist/src/). */
export function icegateVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'icegate' && typeof pkg.version === 'string') {
        cached = pkg.version;
        return cached;
      }
    } catch {
      // No package.json here (or not readable): look one level up.
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("icegate's package.json was not found above its modules");
    dir = parent;
  }
}
