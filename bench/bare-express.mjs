// The reference for phase 3: a bare Express 5 application with one route, POST /v1/ice-servers,
// that parses the JSON body as icegate's route does (express.json()) and answers 200 with a
// fixed body of the same shape and about the same size as icegate's answer. No authentication,
// entitlement, rate limit, metrics, helmet, CORS or logging: what any Express 5 route costs here.
//
// With --preset-prototypes, the server is built as icegate builds its own (src/http/app-server.ts:
// requests and responses born with the app's prototypes, so Express's per-request setPrototypeOf
// changes nothing): the same route, the same saving, reported beside the plain reference.
//
// Usage: node bench/bare-express.mjs --port P [--preset-prototypes]
//        (listens on 127.0.0.1; GET /healthz answers 200)
import { createHmac } from 'node:crypto';
import { parseArgs } from 'node:util';
import express from 'express';

const { values } = parseArgs({
  options: { port: { type: 'string' }, 'preset-prototypes': { type: 'boolean', default: false } },
});
const username = `${Math.floor(Date.now() / 1000) + 86_400}:bench`;
const body = {
  iceServers: [
    {
      urls: [
        'stun:turn.bench.invalid:3478',
        'turn:turn.bench.invalid:3478?transport=udp',
        'turn:turn.bench.invalid:3478?transport=tcp',
        'turns:turn.bench.invalid:5349?transport=tcp',
      ],
      username,
      credential: createHmac('sha1', 'bench').update(username).digest('base64'),
    },
  ],
  ttl: 86_400,
};

const app = express();
app.get('/healthz', (_req, res) => {
  res.json({ ok: true });
});
app.post('/v1/ice-servers', express.json(), (_req, res) => {
  res.json(body);
});
if (values['preset-prototypes']) {
  const { createAppServer } = await import('../dist/src/http/app-server.js');
  createAppServer(app).listen(Number(values.port), '127.0.0.1');
} else {
  app.listen(Number(values.port), '127.0.0.1');
}
// Exit through process.exit at SIGTERM, so that `--cpu-prof` (bench --profile) writes its profile.
process.on('SIGTERM', () => process.exit(0));
