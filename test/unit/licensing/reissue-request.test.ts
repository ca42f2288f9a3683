import { describe, expect, it } from 'vitest';
import {
  REISSUE_REPLAY_WINDOW_MS,
  reissueRequestHash,
  sameRequestHash,
} from '../../../src/licensing/index.js';

const VALUE = '0d8f3c1e-7b52-4a57-9a43-2f1c7e9b6a10';

describe('reissue request hash', () => {
  it('is SHA-256 hex of tenant, newline, Idempotency-Key (computed with sha256sum)', () => {
    expect(reissueRequestHash('acme', VALUE)).toBe(
      '4b5eaf084f0003c8af7bcf61fa77602e6c1555ab8fc79869203393017c641733',
    );
    // Bound to the tenant: the same value sent by another tenant is another request.
    expect(reissueRequestHash('beta', VALUE)).toBe(
      '7353b2f4317d6609ec9b7e0f2ac0450b6cce492414ca6e1caa17fe24a5e00f69',
    );
  });

  it('compares stored and presented hashes, refusing none, another or a malformed one', () => {
    const hash = reissueRequestHash('acme', VALUE);
    expect(sameRequestHash(hash, hash)).toBe(true);
    expect(sameRequestHash(null, hash)).toBe(false);
    expect(sameRequestHash(reissueRequestHash('acme', `${VALUE}x`), hash)).toBe(false);
    expect(sameRequestHash(hash.slice(0, 62), hash.slice(0, 62))).toBe(false);
    expect(sameRequestHash('', '')).toBe(false);
  });

  it('replays for 24 hours', () => {
    expect(REISSUE_REPLAY_WINDOW_MS).toBe(86_400_000);
  });
});
