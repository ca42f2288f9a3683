// TLS certificates reload without a restart (issue 5): a new pair written over the files, or swapped
// in the way Kubernetes updates a mounted Secret (an atomic rename of the `..data` symlink), is
// served to new connections while open ones carry on; a bad pair is reported and the old one stays.

import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { PORTS } from '../helpers/ports.js';
import { startTestHost, type TestHost } from '../helpers/test-host.js';
import { makeTestCertificate, type TestCertificate, writeCertificate } from '../helpers/tls-cert.js';
import { connectStream, TurnClient } from '../helpers/turn-client.js';

// Relay ports: the upper half of the tcp-tls block (tcp-tls.test.ts uses few).
const RELAY_MIN = PORTS.tcpTls.relayMin + 50;
const RELAY_MAX = PORTS.tcpTls.relayMax;

let cert: TestCertificate | null = null;
let host: TestHost | null = null;

afterEach(async () => {
  await host?.close();
  await cert?.dispose();
  host = null;
  cert = null;
});

/** SHA-256 fingerprint of the certificate a new TLS connection is served. */
async function servedFingerprint(port: number): Promise<string> {
  const socket = (await connectStream({ transport: 'tls', address: '127.0.0.1', port })) as TLSSocket;
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return fingerprint;
}

async function fingerprintOf(file: string): Promise<string> {
  return new X509Certificate(await readFile(file)).fingerprint256;
}

describe('TLS certificate reload', () => {
  it('serves a pair rewritten in place to new connections; keeps the old one on a bad pair', async () => {
    cert = await makeTestCertificate();
    const first = await fingerprintOf(cert.certFile);
    host = await startTestHost({
      relayMin: RELAY_MIN,
      relayMax: RELAY_MAX,
      tls: { certFile: cert.certFile, keyFile: cert.keyFile, pollMs: 1000, settleMs: 100 },
    });
    const port = host.tls!.address.port;
    // A second TLS listener on the same files (as TURN_TLS_ALT_PORT=443 would be) shares the pair.
    const alt = await host.host.listenTls('127.0.0.1', 0, { certFile: cert.certFile, keyFile: cert.keyFile });
    expect(await servedFingerprint(port)).toBe(first);
    expect(await servedFingerprint(alt.address.port)).toBe(first);

    const { username, password } = host.credential('acme');
    const open = await TurnClient.open({ transport: 'tls', address: '127.0.0.1', port, username, password });
    expect((await open.allocate()).code).toBe(200);

    // A new pair, written next to the old one and renamed over it (as cert-manager or certbot do).
    const next = await writeCertificate(cert.dir, 'next');
    await rename(next.keyFile, cert.keyFile);
    await rename(next.certFile, cert.certFile);
    const second = await fingerprintOf(cert.certFile);
    expect(second).not.toBe(first);
    await expect.poll(() => servedFingerprint(port), { timeout: 5000, interval: 100 }).toBe(second);
    expect(await servedFingerprint(alt.address.port)).toBe(second);
    // The connection made with the old certificate carries on.
    expect((await open.binding()).code).toBe(200);
    open.close();

    // A broken certificate file: reported once, and the current pair stays in use.
    await writeFile(
      cert.certFile,
      '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n',
    );
    await expect
      .poll(() => host!.record.errors.filter((e) => e.code === 'ICEGATE_TRANSPORT_TLS_CERT').length, {
        timeout: 5000,
      })
      .toBe(1);
    expect(await servedFingerprint(port)).toBe(second);
    expect(await host.host.reloadCertificates()).toBe(false);
    expect(host.record.errors.filter((e) => e.code === 'ICEGATE_TRANSPORT_TLS_CERT')).toHaveLength(1);
  });

  it('follows a Kubernetes-style Secret update (the ..data symlink swapped atomically)', async () => {
    cert = await makeTestCertificate();
    const root = cert.dir;
    const v1 = join(root, 'v1');
    const v2 = join(root, 'v2');
    await mkdir(v1);
    await mkdir(v2);
    const a = await writeCertificate(v1, 'tls');
    const b = await writeCertificate(v2, 'tls');
    await symlink('v1', join(root, '..data'));
    await symlink(join('..data', 'tls.pem'), join(root, 'tls.crt'));
    await symlink(join('..data', 'tls-key.pem'), join(root, 'tls.key'));
    host = await startTestHost({
      relayMin: RELAY_MIN,
      relayMax: RELAY_MAX,
      tls: { certFile: join(root, 'tls.crt'), keyFile: join(root, 'tls.key'), pollMs: 60_000, settleMs: 100 },
    });
    const port = host.tls!.address.port;
    expect(await servedFingerprint(port)).toBe(await fingerprintOf(a.certFile));

    await symlink('v2', join(root, '..data_tmp'));
    await rename(join(root, '..data_tmp'), join(root, '..data'));
    // The poller is a minute away: only the directory watch can make this pass in time.
    await expect
      .poll(() => servedFingerprint(port), { timeout: 5000, interval: 100 })
      .toBe(await fingerprintOf(b.certFile));
  });
});
