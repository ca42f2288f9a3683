// The rule commands of the icegate CLI (DOMAIN.md CLI contract): in-process through runCli for
// the cases, and once through the built bin (dist/src/cli/main.js) to prove the real program.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/program.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

const exampleHistory = {
  tenant: 'acme',
  orders: [
    { id: 'o-1', kind: 'initial', receivedAt: '2026-11-24T10:00:00+09:00', licenses: 50 },
    { id: 'o-2', kind: 'additional', receivedAt: '2027-03-02T09:00:00+09:00', licenses: 10 },
  ],
};

// DOMAIN.md's expected output for the example file, byte for byte.
const exampleTimeline = `{
  "tenant": "acme",
  "periods": [
    {
      "order": "o-1",
      "kind": "initial",
      "serviceFrom": "2026-11-24",
      "start": "2026-12-01",
      "end": "2027-11-30",
      "licenses": 50
    },
    {
      "order": "o-2",
      "kind": "additional",
      "serviceFrom": "2027-03-02",
      "start": "2027-03-02",
      "end": "2027-11-30",
      "licenses": 10
    }
  ],
  "rejected": []
}
`;

let dir: string;
const files: Record<string, string> = {};

async function historyFile(name: string, content: unknown): Promise<string> {
  const path = join(dir, `${name}.json`);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  files[name] = path;
  return path;
}

function orders(...list: [string, string, string][]) {
  return {
    tenant: 'acme',
    orders: list.map(([id, kind, receivedAt]) => ({ id, kind, receivedAt, licenses: 10 })),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icegate-cli-rules-'));
  await historyFile('example', exampleHistory);
  await historyFile('ex1', orders(['o', 'initial', '2026-11-24T10:00+09:00']));
  await historyFile('ex2', orders(['o', 'initial', '2026-12-01T08:00+09:00']));
  await historyFile(
    'ex3',
    orders(['p', 'initial', '2026-11-24T10:00+09:00'], ['o', 'renewal', '2027-11-10T10:00+09:00']),
  );
  await historyFile(
    'ex4',
    orders(['p', 'initial', '2026-11-24T10:00+09:00'], ['o', 'renewal', '2028-01-15T10:00+09:00']),
  );
  await historyFile(
    'ex5',
    orders(['p', 'initial', '2024-11-15T10:00+09:00'], ['o', 'renewal', '2026-12-01T10:00+09:00']),
  );
  await historyFile('ex6', orders(['o', 'initial', '2026-11-30T16:30:00Z']));
  await historyFile('malformed', '{ "tenant": "acme", "orders": [ ');
  await historyFile('invalid', {
    tenant: 'acme',
    orders: [{ id: 'o-7', kind: 'initial', receivedAt: '2026-11-24T10:00:00', licenses: 5 }],
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('icegate support-periods FILE', () => {
  it('prints the DOMAIN.md example output exactly', async () => {
    expect(await cli(['support-periods', files['example']!])).toEqual({
      code: 0,
      stdout: exampleTimeline,
      stderr: '',
    });
  });

  it.each([
    ['ex1', { serviceFrom: '2026-11-24', start: '2026-12-01', end: '2027-11-30' }],
    ['ex2', { serviceFrom: '2026-12-01', start: '2026-12-01', end: '2027-11-30' }],
    ['ex3', { serviceFrom: '2027-12-01', start: '2027-12-01', end: '2028-11-30' }],
    ['ex4', { serviceFrom: '2028-02-01', start: '2028-02-01', end: '2029-01-31' }],
    ['ex6', { serviceFrom: '2026-12-01', start: '2026-12-01', end: '2027-11-30' }],
  ])('worked example %s', async (name, dates) => {
    const r = await cli(['support-periods', files[name]!]);
    expect(r.code).toBe(0);
    const timeline = JSON.parse(r.stdout);
    expect(timeline.periods.find((p: { order: string }) => p.order === 'o')).toMatchObject(dates);
    expect(timeline.rejected).toEqual([]);
  });

  it('worked example 5 is rejected with recontinuation_required', async () => {
    const r = await cli(['support-periods', files['ex5']!]);
    expect(r.code).toBe(0);
    const timeline = JSON.parse(r.stdout);
    expect(timeline.rejected).toEqual([
      {
        order: 'o',
        code: 'recontinuation_required',
        message: expect.stringContaining('2025-11-30'),
      },
    ]);
  });
});

describe('icegate entitlement FILE --at ISO', () => {
  it.each([
    ['2027-03-02T09:00:00+09:00', [], { active: true, state: 'active', licenses: 60, until: '2027-11-30' }],
    ['2027-03-02T08:59:59+09:00', [], { active: true, state: 'active', licenses: 50, until: '2027-11-30' }],
    ['2026-11-24T00:59:59Z', [], { active: false, state: 'none', licenses: 0, until: null }],
    ['2027-11-30T15:00:00Z', [], { active: false, state: 'expired', licenses: 0, until: null }],
    [
      '2027-11-30T15:00:00Z',
      ['--grace-days', '3'],
      { active: true, state: 'grace', licenses: 60, until: '2027-12-03' },
    ],
  ])('at %s %j', async (at, extra, expected) => {
    const r = await cli(['entitlement', files['example']!, '--at', at, ...extra]);
    expect(r).toEqual({
      code: 0,
      stdout: `${JSON.stringify({ tenant: 'acme', ...expected }, null, 2)}\n`,
      stderr: '',
    });
  });

  it('reports not_started in the gap before a late renewal', async () => {
    const r = await cli(['entitlement', files['ex4']!, '--at', '2028-01-20T00:00:00+09:00']);
    expect(JSON.parse(r.stdout)).toEqual({
      tenant: 'acme',
      active: false,
      state: 'not_started',
      licenses: 0,
      until: null,
    });
  });
});

describe('icegate reissue-due --at ISO', () => {
  it.each([
    ['2027-01-14T17:00:00+09:00', '2027-01-14'],
    ['2027-01-14T17:00:01+09:00', '2027-01-15'],
    ['2027-01-08T17:30:00+09:00', '2027-01-12'],
    ['2026-12-28T17:30:00+09:00', '2027-01-04'],
  ])('%s -> %s', async (at, due) => {
    expect(await cli(['reissue-due', '--at', at])).toEqual({
      code: 0,
      stdout: `{\n  "due": "${due}"\n}\n`,
      stderr: '',
    });
  });

  it('takes closing days from SUPPORT_CLOSING_DAYS, and --closing-days over it', async () => {
    const at = ['reissue-due', '--at', '2026-12-29T10:00:00+09:00'];
    expect(JSON.parse((await cli(at, { SUPPORT_CLOSING_DAYS: '' })).stdout)).toEqual({ due: '2026-12-29' });
    expect(JSON.parse((await cli(at, { SUPPORT_CLOSING_DAYS: '12-29' })).stdout)).toEqual({
      due: '2026-12-30',
    });
    expect(
      JSON.parse((await cli([...at, '--closing-days', ''], { SUPPORT_CLOSING_DAYS: '12-29' })).stdout),
    ).toEqual({
      due: '2026-12-29',
    });
  });
});

describe('errors', () => {
  it.each([
    ['a missing file', () => ['support-periods', join(dir, 'nope.json')], /nope\.json: no such file/],
    [
      'a malformed JSON file',
      () => ['support-periods', files['malformed']!],
      /malformed\.json is not valid JSON/,
    ],
    [
      'an invalid order',
      () => ['support-periods', files['invalid']!],
      /invalid\.json: invalid order history: orders\[0\]\.receivedAt \(order o-7\): .* no UTC offset/,
    ],
    [
      'a bad --at',
      () => ['entitlement', files['example']!, '--at', '2027-02-29T10:00:00Z'],
      /--at: .* not a calendar date/,
    ],
    [
      'an --at without offset',
      () => ['reissue-due', '--at', '2027-01-14T17:00:00'],
      /--at: .* no UTC offset/,
    ],
    [
      'a bad --grace-days',
      () => ['entitlement', files['example']!, '--at', '2027-01-01T00:00:00Z', '--grace-days', '-1'],
      /--grace-days must be a whole number/,
    ],
    [
      'bad closing days in the environment',
      () => ['reissue-due', '--at', '2027-01-14T10:00:00Z'],
      /SUPPORT_CLOSING_DAYS: closing days: "13-01"/,
      { SUPPORT_CLOSING_DAYS: '13-01' },
    ],
  ] as [string, () => string[], RegExp, Record<string, string>?][])(
    '%s: exit 1, one line on stderr, nothing on stdout',
    async (_name, args, problem, env = {}) => {
      const r = await cli(args(), env);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(problem);
      expect(r.stderr.startsWith('icegate: ')).toBe(true);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    },
  );

  it.each([
    ['a missing --at', ['entitlement', 'x.json'], /required option '--at <instant>'/],
    ['a missing file argument', ['support-periods'], /missing required argument 'file'/],
    [
      'an unknown option',
      ['reissue-due', '--at', '2027-01-14T10:00:00Z', '--bogus'],
      /unknown option '--bogus'/,
    ],
    ['an unknown command', ['support-period', 'x.json'], /unknown command 'support-period'/],
  ])('%s is a usage error: exit 2', async (_name, args, problem) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toMatch(problem);
  });
});

describe('the built bin', () => {
  const bin = join(ROOT, 'dist/src/cli/main.js');

  beforeAll(async () => {
    // The package bin points at the build output; build it as `npm run build` does.
    await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, timeout: 170_000 }).catch((err) => {
      // Type errors elsewhere in the tree still emit JavaScript; a missing bin is what fails.
      if (!existsSync(bin)) throw err;
    });
  }, 180_000);

  it('answers support-periods, entitlement and reissue-due with the DOMAIN.md shapes and exit codes', async () => {
    const periods = await run('node', [bin, 'support-periods', files['example']!], { cwd: ROOT });
    expect(periods.stdout).toBe(exampleTimeline);

    const entitlement = await run('node', [
      bin,
      'entitlement',
      files['example']!,
      '--at',
      '2027-03-02T09:00:00+09:00',
    ]);
    expect(JSON.parse(entitlement.stdout)).toEqual({
      tenant: 'acme',
      active: true,
      state: 'active',
      licenses: 60,
      until: '2027-11-30',
    });

    const due = await run('node', [bin, 'reissue-due', '--at', '2027-01-14T17:00:01+09:00']);
    expect(due.stdout).toBe('{\n  "due": "2027-01-15"\n}\n');

    const failure = await run('node', [bin, 'support-periods', files['invalid']!]).catch((err) => err);
    expect(failure.code).toBe(1);
    expect(failure.stdout).toBe('');
    expect(failure.stderr).toMatch(/order o-7/);

    const usage = await run('node', [bin, 'entitlement', files['example']!]).catch((err) => err);
    expect(usage.code).toBe(2);
  });
});
