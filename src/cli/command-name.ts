// How an operator runs the icegate CLI on this machine, for the hints printed at start: the
// production image installs /usr/local/bin/icegate (so `npx`, which would look for a package,
// is wrong there), a checkout runs its own build through `npm run -s icegate --` (`npx icegate`
// would first install the checkout into npm's cache and rebuild it: seconds per call).
import { statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** `icegate` when an executable file of that name is on the PATH given, else `npm run -s icegate --`. */
export function cliCommand(pathVariable: string = process.env.PATH ?? ''): string {
  for (const dir of pathVariable.split(delimiter)) {
    if (dir === '') continue;
    try {
      const stat = statSync(join(dir, 'icegate'));
      // Any execute bit: the hint is advice, not a permission check for the current user.
      if (stat.isFile() && (stat.mode & 0o111) !== 0) return 'icegate';
    } catch {
      // Not in this directory.
    }
  }
  return 'npm run -s icegate --';
}
