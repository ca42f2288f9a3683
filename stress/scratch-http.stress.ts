import { it } from 'vitest';
import { httpAbuse } from './lib/http-abuse.js';
it('x', async () => {
  const r = await httpAbuse({ settings: { headersTimeout: 2000, requestTimeout: 4000, connectionsCheckingInterval: 250 }, slowClients: 20, pipelined: 200 });
  for (const o of r.outcomes) console.log(o.ok ? 'OK ' : 'BAD', o.name, o.status, o.error, o.json, o.closed, o.ms);
  console.log(JSON.stringify({ ...r, outcomes: undefined }));
});
