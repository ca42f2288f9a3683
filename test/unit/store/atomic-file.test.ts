import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeOrphanTempFiles, writeFileAtomic } from '../../../src/entitlement/store/atomic-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icegate-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temp file', async () => {
    const target = join(dir, 'doc.json');
    await writeFileAtomic(target, 'one');
    await writeFileAtomic(target, 'two');
    expect(await readFile(target, 'utf8')).toBe('two');
    expect(await readdir(dir)).toEqual(['doc.json']);
  });

  it('keeps the old content when the write fails before the rename, and cleans up', async () => {
    const target = join(dir, 'doc.json');
    await writeFileAtomic(target, 'old');
    let seenTemp = '';
    const failing = writeFileAtomic(target, 'new', {
      beforeRename: async (temp) => {
        seenTemp = temp;
        expect(await readFile(temp, 'utf8')).toBe('new');
        throw new Error('crash');
      },
    });
    await expect(failing).rejects.toThrow('crash');
    expect(seenTemp).toMatch(new RegExp(`doc\\.json\\.${process.pid}\\.[0-9a-f]+\\.tmp$`));
    expect(await readFile(target, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['doc.json']);
  });
});

describe('removeOrphanTempFiles', () => {
  it('removes temp files of dead writers only', async () => {
    const target = join(dir, 'doc.json');
    await writeFile(join(dir, 'doc.json.111.aa.tmp'), 'x');
    await writeFile(join(dir, 'doc.json.222.bb.tmp'), 'x');
    await writeFile(join(dir, 'other.json.111.aa.tmp'), 'x');
    await writeFile(join(dir, 'doc.json'), 'x');
    const removed = await removeOrphanTempFiles(target, (pid) => pid === 222);
    expect(removed).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(['doc.json', 'doc.json.222.bb.tmp', 'other.json.111.aa.tmp']);
  });
});
