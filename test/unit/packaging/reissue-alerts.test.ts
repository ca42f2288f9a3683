// The reissue-request alert rule (deploy/prometheus/icegate-reissue-alerts.yml): promtool accepts
// it and its unit test passes (fires when a request is overdue on any node, clears once it is
// fulfilled), and it names the gauge icegate actually exports.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REISSUE_REQUEST_METRICS } from '../../../src/metrics/reissue-request-gauges.js';

const run = promisify(execFile);
const dir = join(import.meta.dirname, '../../../deploy/prometheus');

describe('reissue-request alert rule', () => {
  it('passes promtool check and its promtool unit test', async () => {
    const check = await run('promtool', ['check', 'rules', 'icegate-reissue-alerts.yml'], { cwd: dir });
    expect(check.stdout).toContain('SUCCESS: 1 rules found');
    const test = await run('promtool', ['test', 'rules', 'icegate-reissue-alerts.test.yml'], { cwd: dir });
    expect(test.stdout).toContain('SUCCESS');
  });

  it('alerts on the exported overdue gauge', async () => {
    const text = await readFile(join(dir, 'icegate-reissue-alerts.yml'), 'utf8');
    expect(text).toContain(`expr: max(${REISSUE_REQUEST_METRICS.overdue}) > 0`);
  });
});
