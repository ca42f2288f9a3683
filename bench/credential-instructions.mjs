// Instructions per credential request, counted by valgrind's callgrind: a figure that does not move
// with what else the shared machine runs (CPU time per request moved 2x between back-to-back runs
// of the same build here). For A/B comparisons of the credential route, not for absolute speed:
// it counts user-space instructions of all the server's threads, not cache misses or the kernel.
//
// The server runs under callgrind with instrumentation off; after WARM requests (JIT compilation and
// heap sizing done) it is switched on for N requests and the counts are dumped.
//
// Usage:
//   node bench/credential-instructions.mjs [--main dist/src/cli/main.js] [--requests 2000]
//        [--warm 8000] [--redis redis://127.0.0.1:6379]
//   node bench/credential-instructions.mjs --bare [--preset-prototypes]   (bench/bare-express.mjs)
// Prints one JSON line: {server, requests, answered, instructionsPerRequest}. Takes 1-3 minutes.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import jwt from 'jsonwebtoken';
import { sleep } from './child-processes.mjs';
import { takeFreePort } from './ports.mjs';
import { importTenants } from './targets.mjs';

const { values } = parseArgs({
  options: {
    main: { type: 'string', default: 'dist/src/cli/main.js' },
    requests: { type: 'string', default: '2000' },
    warm: { type: 'string', default: '8000' },
    redis: { type: 'string' },
    bare: { type: 'boolean', default: false },
    'preset-prototypes': { type: 'boolean', default: false },
  },
});
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/src/cli/main.js');
const requests = Number(values.requests);
const work = mkdtempSync(join(tmpdir(), 'icegate-callgrind-'));
const port = await takeFreePort(1);

/** Four tenants with active support, their keys issued, and a token for each. */
async function tenantTokens(dataDir) {
  const tenants = ['cred-1', 'cred-2', 'cred-3', 'cred-4'];
  const note = await importTenants(dataDir, tenants);
  if (note) throw new Error(note);
  return tenants.map((tenant) => {
    const out = execFileSync(
      process.execPath,
      [cli, 'license', 'issue', tenant, '--server', 'bench.invalid'],
      {
        env: { ...process.env, DATA_DIR: dataDir },
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    const { keyId, key } = JSON.parse(out.toString());
    const secret = key.slice(key.indexOf('.') + 1);
    return jwt.sign({ sub: 'bench-user' }, secret, { algorithm: 'HS256', keyid: keyId, expiresIn: 540 });
  });
}

const dataDir = join(work, 'data');
const tokens = values.bare ? ['unused'] : await tenantTokens(dataDir);
const serverArgs = values.bare
  ? [
      join(root, 'bench/bare-express.mjs'),
      '--port',
      String(port),
      ...(values['preset-prototypes'] ? ['--preset-prototypes'] : []),
    ]
  : [
      '--no-memory-reducer',
      '--max-semi-space-size=2',
      '--no-opt',
      '--no-maglev',
      resolve(values.main),
      'serve',
    ];
const env = {
  ...process.env,
  HTTP_PORT: String(port),
  TURN_PORT: String(await takeFreePort(1)),
  TURN_TLS_PORT: String(await takeFreePort(1)),
  METRICS_PORT: String(await takeFreePort(1)),
  TURN_LISTEN_IP: '127.0.0.1',
  METRICS_LISTEN_IP: '127.0.0.1',
  TURN_SECRETS: 'bench-secret-bench-secret-0123456789',
  TURN_DATA_PLANE: 'js',
  DATA_DIR: dataDir,
  DRAIN_TIMEOUT_SECONDS: '0',
  HTTP_TRUST_PROXY: 'true',
  ...(values.redis ? { REDIS_URL: values.redis } : {}),
};
const outFile = join(work, 'callgrind.out');
const server = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    '--instr-atstart=no',
    // V8 writes machine code at run time.
    '--smc-check=all-non-file',
    `--callgrind-out-file=${outFile}`,
    process.execPath,
    ...serverArgs,
  ],
  { env, stdio: ['ignore', 'ignore', 'pipe'] },
);
let stderr = '';
server.stderr.on('data', (chunk) => {
  stderr = (stderr + chunk).slice(-4000);
});

try {
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not listening yet (valgrind starts Node slowly)
    }
    if (Date.now() > deadline) throw new Error(`the server never answered /healthz:\n${stderr}`);
    await sleep(500);
  }
  let sent = 0;
  const load = (amount) =>
    new Promise((resolveLoad, reject) => {
      autocannon(
        {
          url: `${base}/v1/ice-servers`,
          connections: 10,
          amount,
          timeout: 60,
          requests: [
            {
              method: 'POST',
              body: '{}',
              setupRequest: (req) => {
                sent += 1;
                return {
                  ...req,
                  headers: {
                    ...req.headers,
                    authorization: `Bearer ${tokens[sent % tokens.length]}`,
                    'content-type': 'application/json',
                    'x-forwarded-for': `10.9.${(sent >> 8) & 255}.${sent & 255}`,
                  },
                };
              },
            },
          ],
        },
        (err, result) => (err ? reject(err) : resolveLoad(result)),
      );
    });
  await load(Number(values.warm));
  execFileSync('callgrind_control', ['--instr=on', String(server.pid)], { stdio: 'ignore' });
  const measured = await load(requests);
  execFileSync('callgrind_control', ['--instr=off', String(server.pid)], { stdio: 'ignore' });
  execFileSync('callgrind_control', ['--dump', String(server.pid)], { stdio: 'ignore' });
  // The dump is written by the server's own thread: wait until a file holds the totals.
  let instructions = null;
  for (let i = 0; i < 40 && instructions === null; i += 1) {
    await sleep(250);
    for (const file of readdirSync(work).filter((f) => f.startsWith('callgrind.out'))) {
      const totals = /^totals: (\d+)/m.exec(readFileSync(join(work, file), 'utf8'));
      if (totals && Number(totals[1]) > 0) instructions = Number(totals[1]);
    }
  }
  if (instructions === null) throw new Error('callgrind wrote no totals');
  console.log(
    JSON.stringify({
      server: values.bare
        ? `bare-express${values['preset-prototypes'] ? ' --preset-prototypes' : ''}`
        : values.main,
      redis: values.redis ?? null,
      requests,
      answered: measured['2xx'],
      instructionsPerRequest: Math.round(instructions / requests),
    }),
  );
} finally {
  server.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
