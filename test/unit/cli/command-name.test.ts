import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliCommand } from '../../../src/cli/command-name.js';

const root = mkdtempSync(join(tmpdir(), 'icegate-cli-name-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function dirWith(name: string, file: { mode: number } | 'directory' | null): string {
  const dir = join(root, name);
  mkdirSync(dir);
  if (file === 'directory') mkdirSync(join(dir, 'icegate'));
  else if (file !== null) {
    writeFileSync(join(dir, 'icegate'), '#!/bin/sh\n');
    chmodSync(join(dir, 'icegate'), file.mode);
  }
  return dir;
}

describe('cliCommand', () => {
  const empty = dirWith('empty', null);
  const installed = dirWith('installed', { mode: 0o755 });
  const notExecutable = dirWith('plain', { mode: 0o644 });
  const directory = dirWith('dir', 'directory');

  it('says `icegate` where the image (or a global install) put an executable on the PATH', () => {
    expect(cliCommand([empty, installed].join(delimiter))).toBe('icegate');
  });

  it('says `npm run -s icegate --` in a checkout, where no icegate executable is on the PATH', () => {
    expect(cliCommand([empty, notExecutable, directory].join(delimiter))).toBe('npm run -s icegate --');
    expect(cliCommand('')).toBe('npm run -s icegate --');
  });
});
