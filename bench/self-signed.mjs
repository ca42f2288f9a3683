// A self-signed certificate for `localhost` (P-256, valid two days) for the TLS loads, made with
// the openssl CLI into the run's temporary directory, which the run deletes at its end.
import { join } from 'node:path';
import { startChild } from './child-processes.mjs';

/** Writes cert and key PEM files under `dir`; resolves to {cert, key} (their paths). */
export async function makeCertificate(dir) {
  const cert = join(dir, `bench-tls-${process.pid}.crt`);
  const key = join(dir, `bench-tls-${process.pid}.key`);
  const child = startChild(
    'openssl',
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-days',
      '2',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { timeoutMs: 20_000 },
  );
  const exit = await child.exited;
  if (exit.code !== 0) throw new Error(`openssl req failed: ${child.lines.slice(-3).join(' | ')}`);
  return { cert, key };
}
