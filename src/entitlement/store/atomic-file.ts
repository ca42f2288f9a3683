// Crash-safe replacement of a whole file: write a temp file in the same directory, fsync it,
// rename it over the target, fsync the directory. A crash at any point leaves either the old
// or the new content under the target name, never a torn mix, and a resolved write survives
// power loss (the directory entry is durable once the directory is fsynced).
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Test hooks to simulate a crash at a chosen point of an atomic write. */
export interface AtomicWriteFaults {
  /** Runs after the temp file is written and fsynced, before the rename; a throw aborts the write. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

const TEMP_SUFFIX = '.tmp';

/** The temp name for `target` written by this process: `<target>.<pid>.<random>.tmp`. */
function tempPathFor(target: string): string {
  return `${target}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
}

/** Replaces `target` with `data` atomically and durably (mode 0600: the document holds key secrets). */
export async function writeFileAtomic(
  target: string,
  data: string,
  faults?: AtomicWriteFaults,
): Promise<void> {
  const temp = tempPathFor(target);
  let renamed = false;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await faults?.beforeRename?.(temp);
    await rename(temp, target);
    renamed = true;
    await syncDirectory(dirname(target));
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

/** fsyncs a directory so a rename inside it is durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Removes temp files of `target` left by processes that died mid-write. Temp files of live
 * processes (possibly writing right now) are left alone.
 */
export async function removeOrphanTempFiles(
  target: string,
  isAlive: (pid: number) => boolean,
): Promise<number> {
  const dir = dirname(target);
  const prefix = `${basename(target)}.`;
  let removed = 0;
  for (const name of await readdir(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || isAlive(pid)) continue;
    await unlink(join(dir, name)).catch(() => undefined);
    removed += 1;
  }
  return removed;
}
