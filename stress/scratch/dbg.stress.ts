import { it } from 'vitest';
import { decodeMessage, longTermKey, verifyIntegrity } from '../../src/stun/index.js';
import { MutationEngine, Prng } from '../lib/mutation.js';
import { generatedSeeds } from '../lib/seeds.js';
it('dbg', () => {
  const key = longTermKey('u', 'icegate', 'p');
  const seeds = generatedSeeds({ username: '123:acme', realm: 'icegate', nonce: 'abc', key });
  const e = new MutationEngine(new Prng(1));
  const out: Record<string, number> = {};
  for (let i = 0; i < 5000; i++) {
    const m = e.mutateSigned(seeds[i % 11]!, key, seeds);
    const d = decodeMessage(m);
    const k = d.ok ? (verifyIntegrity(d.message, key) ? 'ok+mi' : 'ok-badmi') : d.error;
    out[k] = (out[k] ?? 0) + 1;
  }
  console.log(out);
});
