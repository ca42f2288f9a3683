// node-turn 0.0.6 (the package first considered for icegate) as a standalone server for the
// benchmark. It has no TURN REST secret, so the bench hands it one fixed REST-shaped credential
// as a long-term user (RFC 8489 §9.2), and uclient logs in with `-u -w` instead of `-W`.
//
// Usage: NODE_TURN_USERNAME=… NODE_TURN_PASSWORD=… node bench/node-turn-server.mjs --port P
//        [--relay-min A --relay-max B]
import { parseArgs } from 'node:util';
import Turn from 'node-turn';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'relay-min': { type: 'string', default: '42000' },
    'relay-max': { type: 'string', default: '59000' },
  },
});
const username = process.env.NODE_TURN_USERNAME ?? '';
const password = process.env.NODE_TURN_PASSWORD ?? '';

const server = new Turn({
  listeningPort: Number(values.port),
  listeningIps: ['127.0.0.1'],
  relayIps: ['127.0.0.1'],
  minPort: Number(values['relay-min']),
  maxPort: Number(values['relay-max']),
  authMech: 'long-term',
  credentials: { [username]: password },
  realm: 'icegate',
  debugLevel: 'OFF',
});
server.start();
process.stdout.write(`node-turn listening on 127.0.0.1:${values.port}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
