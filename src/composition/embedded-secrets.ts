// Embedded mode (no database configured): the TURN secret and the admin-token secret are made
// once, kept in DATA_DIR/secrets.json (mode 0600), and shown to the operator once at first start
// so a newcomer can follow the README with curl. Configured values always win.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

/** The secrets a node runs with, and whether they were generated just now. */
export interface NodeSecrets {
  turnSecrets: string[];
  adminTokenSecret: string | undefined;
  /** True when this start generated and stored secrets (the caller prints them once). */
  generated: boolean;
}

/** What DATA_DIR/secrets.json holds. */
export interface StoredSecrets {
  turnSecret: string;
  adminTokenSecret: string;
}

const FILE = 'secrets.json';

function isStoredSecrets(value: unknown): value is StoredSecrets {
  const v = value as Partial<StoredSecrets> | null;
  return typeof v?.turnSecret === 'string' && typeof v.adminTokenSecret === 'string';
}

/** The path of the embedded secrets file in `dataDir`. */
export function secretsPath(dataDir: string): string {
  return join(dataDir, FILE);
}

/** The secrets kept in `dataDir` by an embedded node, or null before its first start. */
export function readEmbeddedSecrets(dataDir: string): Promise<StoredSecrets | null> {
  return readStored(dataDir);
}

async function readStored(dataDir: string): Promise<StoredSecrets | null> {
  let text: string;
  try {
    text = await readFile(join(dataDir, FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed: unknown = JSON.parse(text);
  if (!isStoredSecrets(parsed)) throw new Error(`${join(dataDir, FILE)} is not an icegate secrets file`);
  return parsed;
}

async function writeStored(dataDir: string, secrets: StoredSecrets): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const target = join(dataDir, FILE);
  const temp = `${target}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(secrets, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
}

/**
 * Resolves the node's secrets: configured ones as they are; in embedded mode, missing ones from
 * DATA_DIR, generated (256 random bits each) at first start. Outside embedded mode a missing
 * TURN secret is a configuration error, since every node of a fleet must share it.
 */
export async function resolveSecrets(options: {
  embedded: boolean;
  dataDir: string;
  turnSecrets: string[] | undefined;
  adminTokenSecret: string | undefined;
}): Promise<NodeSecrets> {
  if (!options.embedded) {
    if (options.turnSecrets === undefined) {
      throw new Error(
        'TURN_SECRETS must be set when DATABASE_URL is set (every node needs the same secrets)',
      );
    }
    return { turnSecrets: options.turnSecrets, adminTokenSecret: options.adminTokenSecret, generated: false };
  }
  if (options.turnSecrets !== undefined && options.adminTokenSecret !== undefined) {
    return { turnSecrets: options.turnSecrets, adminTokenSecret: options.adminTokenSecret, generated: false };
  }
  let stored = await readStored(options.dataDir);
  let generated = false;
  if (stored === null) {
    stored = {
      turnSecret: randomBytes(32).toString('base64url'),
      adminTokenSecret: randomBytes(32).toString('base64url'),
    };
    await writeStored(options.dataDir, stored);
    generated = true;
  }
  return {
    turnSecrets: options.turnSecrets ?? [stored.turnSecret],
    adminTokenSecret: options.adminTokenSecret ?? stored.adminTokenSecret,
    generated,
  };
}
