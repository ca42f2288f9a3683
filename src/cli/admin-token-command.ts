// `icegate admin-token [--ttl 30d]`: mints an admin JWT for the /v1/admin API from
// ADMIN_TOKEN_SECRET, or, in embedded mode, from the secret the node keeps in
// DATA_DIR/secrets.json. Prints the token alone, so `TOKEN=$(npm run -s icegate -- admin-token)` works.
import type { Command } from 'commander';
import { mintAdminToken, parseTtl } from '../composition/admin-token.js';
import { readEmbeddedSecrets, secretsPath } from '../composition/embedded-secrets.js';
import { type CliIo, jsonText, processIo } from './cli-io.js';

/** Where the admin secret comes from: the environment first, then the embedded node's DATA_DIR. */
export async function adminSecretFrom(env: CliIo['env']): Promise<string> {
  const value = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const configured = value('ADMIN_TOKEN_SECRET');
  if (configured !== undefined) return configured;
  if (value('DATABASE_URL') !== undefined) {
    throw new Error(
      'no_admin_secret: ADMIN_TOKEN_SECRET is not set (a node with DATABASE_URL has no embedded secrets)',
    );
  }
  const dataDir = value('DATA_DIR') ?? './data';
  const stored = await readEmbeddedSecrets(dataDir);
  if (stored === null) {
    throw new Error(
      `no_admin_secret: ${secretsPath(dataDir)} does not exist: start icegate once in embedded mode ` +
        '(npm start) to generate it, or set ADMIN_TOKEN_SECRET',
    );
  }
  return stored.adminTokenSecret;
}

/** Registers `admin-token`. */
export function registerAdminTokenCommand(program: Command, io: CliIo = processIo): void {
  program
    .command('admin-token')
    .description('mint an admin token (JWT) for /v1/admin from ADMIN_TOKEN_SECRET or DATA_DIR/secrets.json')
    .option('--ttl <duration>', 'lifetime: 30d, 12h, 90m, 3600s (1 minute to 365 days)', '30d')
    .option('--subject <name>', 'who the token is for (the sub claim, shown in admin logs)', 'icegate-admin')
    .option('--json', 'print {token, expiresAt, subject} instead of the bare token')
    .action(async (opts: { ttl: string; subject: string; json?: boolean }) => {
      const ttlSeconds = parseTtl(opts.ttl);
      if (opts.subject.length === 0 || opts.subject.length > 200) {
        throw new Error('--subject: 1 to 200 characters');
      }
      const secret = await adminSecretFrom(io.env);
      const minted = mintAdminToken(secret, { ttlSeconds, subject: opts.subject });
      io.stdout(
        opts.json === true
          ? jsonText({
              token: minted.token,
              expiresAt: minted.expiresAt.toISOString(),
              subject: opts.subject,
            })
          : `${minted.token}\n`,
      );
    });
}
