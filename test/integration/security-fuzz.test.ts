// Short run of the issue 7 fuzzers (the long run is `npm run stress`): 20,000 inputs per target
// into the codec, the TURN core (authenticated, re-signed mutations included) and the live UDP,
// TCP and TLS listeners; no exception, no uncaught error, no broken invariant.
import { describe, expect, it } from 'vitest';
import { fuzzDecodeChannelData, fuzzDecodeMessage, fuzzStreamDeframer } from '../../stress/lib/fuzz-codec.js';
import { fuzzTurnCore } from '../../stress/lib/fuzz-core.js';
import { fuzzStreamListeners, fuzzUdpListener } from '../../stress/lib/fuzz-listener.js';
import type { FuzzResult } from '../../stress/lib/fuzz-result.js';
import { PORTS } from '../helpers/ports.js';

const INPUTS = 20_000;
/** A new seed every run widens the search; it is in every failure message, to replay it. */
const SEED = Date.now() % 1_000_000_007;

function expectClean(result: FuzzResult): void {
  const replay = `${result.target}, seed ${SEED}`;
  expect(result.inputs, replay).toBeGreaterThanOrEqual(INPUTS);
  expect(result.firstException, replay).toBeNull();
  expect(result.firstViolation, replay).toBeNull();
  expect(result.exceptions, replay).toBe(0);
  expect(result.uncaught, replay).toBe(0);
}

describe('fuzzing (short run)', () => {
  it('decodeMessage and every attribute reader', async () => {
    const result = await fuzzDecodeMessage({ inputs: INPUTS, seed: SEED });
    expectClean(result);
    expect(result.outcomes['ok']).toBeGreaterThan(INPUTS / 20);
  });

  it('decodeChannelData', async () => {
    expectClean(await fuzzDecodeChannelData({ inputs: INPUTS, seed: SEED }));
  });

  it('StreamDeframer, valid streams re-framed exactly at any cut', async () => {
    const result = await fuzzStreamDeframer({ inputs: INPUTS, seed: SEED });
    expectClean(result);
    expect(result.outcomes['stream-ok']).toBeGreaterThan(0);
  });

  it('the TURN core, reaching the handlers behind authentication', async () => {
    const result = await fuzzTurnCore({ inputs: INPUTS, seed: SEED });
    expectClean(result);
    // Re-signed mutations get past MESSAGE-INTEGRITY into the handlers.
    expect(result.outcomes['Allocate 200'] ?? 0).toBeGreaterThan(0);
    expect(result.outcomes['CreatePermission 200'] ?? 0).toBeGreaterThan(0);
    expect(
      (result.outcomes['Allocate 400'] ?? 0) + (result.outcomes['CreatePermission 400'] ?? 0),
    ).toBeGreaterThan(0);
  });

  it('the UDP listener and its relay sockets', async () => {
    expectClean(
      await fuzzUdpListener({ inputs: INPUTS, ports: PORTS.securityFuzz, seed: SEED, deadlineMs: 60_000 }),
    );
  });

  it('the TCP and TLS listeners', async () => {
    expectClean(
      await fuzzStreamListeners({
        inputs: INPUTS,
        ports: PORTS.securityFuzz,
        seed: SEED,
        deadlineMs: 60_000,
      }),
    );
  });
});
