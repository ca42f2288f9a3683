// A self-signed certificate for `localhost` / 127.0.0.1 / ::1, made with openssl at test time in a
// fresh temporary directory (no private key is ever committed). Valid for two days.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A generated certificate pair and the directory holding it. */
export interface TestCertificate {
  dir: string;
  certFile: string;
  keyFile: string;
  dispose(): Promise<void>;
}

/** Writes a new EC P-256 key and self-signed certificate as `cert.pem` / `key.pem` under `dir`. */
export async function writeCertificate(
  dir: string,
  name = 'cert',
  cn = 'localhost',
): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
    '-days',
    '2',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}

/** A fresh certificate in a fresh temporary directory. */
export async function makeTestCertificate(): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'icegate-tls-'));
  const { certFile, keyFile } = await writeCertificate(dir);
  return { dir, certFile, keyFile, dispose: () => rm(dir, { recursive: true, force: true }) };
}
