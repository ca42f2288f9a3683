// Runs native/asan-test.sh (the addon built with AddressSanitizer+UBSan, then this directory's
// tests against it), the classifier fuzzer under the same sanitizers, and the data threads under
// ThreadSanitizer (native/tsan), as part of `npm test`. About 40 s on this 2-core machine.
// Skipped where g++ cannot build with -fsanitize, and inside the sanitizer run itself.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const nested = process.env.ICEGATE_ASAN_RUN === '1';
const skipNative = process.env.ICEGATE_SKIP_NATIVE === '1';

function sanitizersAvailable(): boolean {
  if (nested || skipNative) return false;
  const probe = spawnSync('g++', ['-fsanitize=address,undefined', '-x', 'c++', '-', '-o', '/dev/null'], {
    input: 'int main() { return 0; }\n',
    encoding: 'utf8',
    timeout: 60_000,
  });
  return probe.status === 0;
}

const SANITIZER_REPORT =
  /ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior|Thread)Sanitizer|WARNING: ThreadSanitizer/;

describe.skipIf(!sanitizersAvailable())('native code under AddressSanitizer and UBSan', () => {
  it('passes the native unit tests (threads included) with no sanitizer report', () => {
    const run = spawnSync('sh', [join(root, 'native', 'asan-test.sh')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, ICEGATE_NATIVE_ADDON: '' },
    });
    const output = `${run.stdout}${run.stderr}`;
    expect(SANITIZER_REPORT.test(output), output.slice(-4000)).toBe(false);
    expect(run.status, output.slice(-4000)).toBe(0);
    expect(output).toMatch(/Tests\s.*passed/);
  }, 300_000);

  it('fuzzes the packet classifier and the Send indication parser for a bounded time', () => {
    const run = spawnSync('sh', [join(root, 'native', 'fuzz', 'run-classifier-fuzz.sh'), '5'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const output = `${run.stdout}${run.stderr}`;
    expect(SANITIZER_REPORT.test(output), output.slice(-4000)).toBe(false);
    expect(run.status, output.slice(-4000)).toBe(0);
    expect(output).toMatch(/no crash|Done \d+ runs/);
  }, 180_000);

  it('runs the data threads under ThreadSanitizer with table churn and a flood: no race', () => {
    const run = spawnSync('sh', [join(root, 'native', 'tsan', 'run-tsan.sh'), '4'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 150_000,
    });
    const output = `${run.stdout}${run.stderr}`;
    expect(SANITIZER_REPORT.test(output), output.slice(-4000)).toBe(false);
    expect(run.status, output.slice(-4000)).toBe(0);
    expect(output).toMatch(/tsan plane stress: .* control packets|no system libuv/);
  }, 180_000);
});
