// TlsCertificates without sockets: a bad pair fails at load with a stable code; on reload a key that
// does not match the certificate is reported once and the old pair stays; subscribers get new pairs.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { TlsCertificates, type TransportError } from '../../../src/transport/index.js';
import { makeTestCertificate, type TestCertificate, writeCertificate } from '../../helpers/tls-cert.js';

let cert: TestCertificate | null = null;
let certificates: TlsCertificates | null = null;

afterEach(async () => {
  certificates?.close();
  await cert?.dispose();
  certificates = null;
  cert = null;
});

describe('TlsCertificates', () => {
  it('refuses a missing or mismatched pair at load with ICEGATE_TRANSPORT_TLS_CERT', async () => {
    cert = await makeTestCertificate();
    const other = await writeCertificate(cert.dir, 'other');
    await expect(
      TlsCertificates.load({ certFile: cert.certFile, keyFile: other.keyFile, watch: false }),
    ).rejects.toMatchObject({ code: 'ICEGATE_TRANSPORT_TLS_CERT' });
    await expect(
      TlsCertificates.load({ certFile: `${cert.dir}/missing.pem`, keyFile: cert.keyFile, watch: false }),
    ).rejects.toMatchObject({ code: 'ICEGATE_TRANSPORT_TLS_CERT' });
  });

  it('asks for TLS 1.2 at least', async () => {
    cert = await makeTestCertificate();
    certificates = await TlsCertificates.load({ ...cert, watch: false });
    expect(certificates.secureOptions.minVersion).toBe('TLSv1.2');
  });

  it('keeps the old pair when the new key does not match, reporting it once; takes a good pair', async () => {
    cert = await makeTestCertificate();
    const errors: TransportError[] = [];
    certificates = await TlsCertificates.load({ ...cert, watch: false, onError: (e) => errors.push(e) });
    const original = certificates.secureOptions.cert;
    const seen: unknown[] = [];
    certificates.subscribe((options) => seen.push(options.cert));

    expect(await certificates.reload()).toBe(false);
    const other = await writeCertificate(cert.dir, 'other');
    await writeFile(cert.keyFile, await readFile(other.keyFile));
    expect(await certificates.reload()).toBe(false);
    expect(await certificates.reload()).toBe(false);
    expect(errors.map((e) => e.code)).toEqual(['ICEGATE_TRANSPORT_TLS_CERT']);
    expect(certificates.secureOptions.cert).toBe(original);

    await writeFile(cert.certFile, await readFile(other.certFile));
    expect(await certificates.reload()).toBe(true);
    expect(seen).toHaveLength(1);
    expect(Buffer.from(seen[0] as Buffer)).toEqual(await readFile(other.certFile));
    await rm(other.certFile);
  });
});
