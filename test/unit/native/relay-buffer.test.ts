// TURN_RELAY_SOCKET_BUFFER on the native plane (issue 16): openRelay's buffer size reaches the
// relay socket's SO_RCVBUF, read back from the kernel with `ss -m` (skmem rb, twice the request as
// Linux doubles it, capped by net.core.rmem_max).
import { execFileSync } from 'node:child_process';
import type dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kernelBufferCaps } from '../../../src/transport/index.js';
import {
  NativeDataPlane,
  type NativeRelayPlane,
  requireNativeAddon,
} from '../../../src/transport/native/index.js';
import { bound, LOOPBACK } from './udp-sockets.js';

const skipNative = process.env.ICEGATE_SKIP_NATIVE === '1';

/** The receive buffer (skmem rb) of the UDP socket bound to 127.0.0.1:`port`, from ss. */
function receiveBuffer(port: number): number {
  const out = execFileSync('ss', ['-uamnH', `sport = :${port}`], { encoding: 'utf8' });
  const match = /\brb(\d+)/.exec(out);
  if (match === null) throw new Error(`no skmem for port ${port}: ${out}`);
  return Number(match[1]);
}

describe.skipIf(skipNative)('native relay socket buffers', () => {
  let listener: dgram.Socket;
  let plane: NativeRelayPlane;

  beforeEach(async () => {
    listener = await bound();
    plane = new NativeDataPlane(requireNativeAddon()).createRelayPlane(listener);
  });

  afterEach(() => {
    plane.close();
    listener.close();
  });

  it('sizes a relay socket as asked, and leaves the default without a size', () => {
    const caps = kernelBufferCaps();
    const asked = 1024 * 1024;
    const sized = plane.openRelay(LOOPBACK, 0, asked);
    const plain = plane.openRelay(LOOPBACK, 0);
    const defaultSize = Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8'));
    expect(receiveBuffer(plain.port)).toBe(defaultSize);
    expect(receiveBuffer(sized.port)).toBe(2 * Math.min(asked, caps?.rmemMax ?? asked));
  });
});
