// Paths inside the repository, whatever directory vitest runs from.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (three levels above this file). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Absolute path of a repository-relative path. */
export function repoPath(relative: string): string {
  return join(REPO_ROOT, relative);
}

/** Whether a repository-relative file or folder exists. */
export function repoHas(relative: string): boolean {
  return existsSync(repoPath(relative));
}
