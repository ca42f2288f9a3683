// TLS certificate and key from files (TURN_TLS_CERT, TURN_TLS_KEY), reloaded without a restart
// when they change: fs.watch on their directories (which also sees Kubernetes' atomic symlink swap
// of a mounted Secret) and a periodic stat as a fallback where watching is unreliable.
import { X509Certificate } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type tls from 'node:tls';
import { nodeTls } from '../node-builtins.js';
import { IGNORE_ERRORS, TransportError, type TransportErrorReporter } from './errors.js';

/** Where the certificate chain and its private key are (PEM). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** Options of TlsCertificates.load. */
export interface TlsCertificateOptions extends TlsFiles {
  /** Watch the files and reload on change (default true). */
  watch?: boolean;
  /** Period of the stat fallback, milliseconds (default 10 000). */
  pollMs?: number;
  /** Wait after a change event before reading, so both files are written (default 200 ms). */
  settleMs?: number;
  /** Where a failed reload is reported (the old certificate stays in use). */
  onError?: TransportErrorReporter;
}

/** The options every TLS server context gets: TLS 1.2 at least. */
export const TLS_MIN_VERSION = 'TLSv1.2';

type Listener = (options: tls.SecureContextOptions) => void;

/** The current certificate of one (cert, key) pair; tells subscribers when it changes. */
export class TlsCertificates {
  #options: tls.SecureContextOptions;
  #signature: string;
  /** Signature of the last files that failed to load, so a bad pair is reported once. */
  #failedSignature: string | null = null;
  readonly #listeners = new Set<Listener>();
  readonly #watchers: FSWatcher[] = [];
  #poller: NodeJS.Timeout | null = null;
  #settle: NodeJS.Timeout | null = null;
  #reloading: Promise<boolean> | null = null;
  #closed = false;

  private constructor(
    readonly files: TlsFiles,
    options: tls.SecureContextOptions,
    signature: string,
    readonly onError: TransportErrorReporter,
  ) {
    this.#options = options;
    this.#signature = signature;
  }

  /** Reads and checks the pair; throws TransportError ICEGATE_TRANSPORT_TLS_CERT when unusable. */
  static async load(options: TlsCertificateOptions): Promise<TlsCertificates> {
    const files = { certFile: options.certFile, keyFile: options.keyFile };
    const loaded = await readPair(files);
    if (loaded instanceof TransportError) throw loaded;
    const certificates = new TlsCertificates(
      files,
      loaded.options,
      loaded.signature,
      options.onError ?? IGNORE_ERRORS,
    );
    if (options.watch !== false) certificates.#watch(options.pollMs ?? 10_000, options.settleMs ?? 200);
    return certificates;
  }

  /** Options for tls.createServer / server.setSecureContext. */
  get secureOptions(): tls.SecureContextOptions {
    return this.#options;
  }

  /** The notAfter of the certificate in use (the first of the PEM file, the leaf); null if unreadable. */
  get notAfter(): Date | null {
    try {
      const cert = this.#options.cert;
      if (cert === undefined) return null;
      const pem = Array.isArray(cert) ? cert[0] : cert;
      if (pem === undefined) return null;
      return new Date(new X509Certificate(pem as string | Buffer).validTo);
    } catch {
      return null;
    }
  }

  /** Calls `listener` with the new options after each successful reload; returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Reloads when the files changed since the last load: true when a new pair is in use. A pair
   * that does not load (unreadable, not PEM, key not matching the certificate) is reported and
   * the old one stays.
   */
  reload(): Promise<boolean> {
    this.#reloading ??= this.#reload().finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  /** Stops watching. */
  close(): void {
    this.#closed = true;
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers.length = 0;
    if (this.#poller !== null) clearInterval(this.#poller);
    if (this.#settle !== null) clearTimeout(this.#settle);
    this.#listeners.clear();
  }

  async #reload(): Promise<boolean> {
    if (this.#closed) return false;
    const signature = await signatureOf(this.files);
    if (signature === this.#signature || signature === this.#failedSignature) return false;
    const loaded = await readPair(this.files);
    if (this.#closed) return false;
    if (loaded instanceof TransportError) {
      // A half-written pair fails here too; the write of the other file brings another event.
      this.#failedSignature = signature;
      this.onError(loaded);
      return false;
    }
    this.#options = loaded.options;
    this.#signature = loaded.signature;
    this.#failedSignature = null;
    for (const listener of this.#listeners) {
      try {
        listener(loaded.options);
      } catch (error) {
        this.onError(
          new TransportError('ICEGATE_TRANSPORT_TLS_CERT', 'applying the new certificate failed', {
            cause: error,
          }),
        );
      }
    }
    return true;
  }

  #watch(pollMs: number, settleMs: number): void {
    const schedule = (): void => {
      if (this.#closed) return;
      if (this.#settle !== null) clearTimeout(this.#settle);
      this.#settle = setTimeout(() => {
        this.#settle = null;
        void this.reload();
      }, settleMs);
      this.#settle.unref();
    };
    for (const directory of new Set([dirname(this.files.certFile), dirname(this.files.keyFile)])) {
      try {
        const watcher = watch(directory, { persistent: false }, schedule);
        // A watcher that fails (directory removed, too many watches) leaves the poller in charge.
        watcher.on('error', () => watcher.close());
        this.#watchers.push(watcher);
      } catch {
        // fs.watch is unsupported here: polling alone.
      }
    }
    this.#poller = setInterval(() => void this.reload(), pollMs);
    this.#poller.unref();
  }
}

/** Identity of the files' current contents: changes on any rewrite, rename or symlink swap. */
async function signatureOf(files: TlsFiles): Promise<string> {
  const parts: string[] = [];
  for (const file of [files.certFile, files.keyFile]) {
    try {
      const s = await stat(file);
      parts.push(`${s.ino}:${s.size}:${s.mtimeMs}`);
    } catch {
      parts.push('missing');
    }
  }
  return parts.join('|');
}

async function readPair(
  files: TlsFiles,
): Promise<{ options: tls.SecureContextOptions; signature: string } | TransportError> {
  try {
    const signature = await signatureOf(files);
    const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
    const options: tls.SecureContextOptions = { cert, key, minVersion: TLS_MIN_VERSION };
    // Builds a context once to check the pair: bad PEM and a key that does not match throw here.
    nodeTls().createSecureContext(options);
    return { options, signature };
  } catch (error) {
    return new TransportError(
      'ICEGATE_TRANSPORT_TLS_CERT',
      `cannot load TLS certificate ${files.certFile} with key ${files.keyFile}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
