// Child process of store-file-crash.test.ts: imports one order at a time into a file store and
// prints "ack <id>" after each import resolves, until killed or done.
import { openFileStore } from '../../src/entitlement/store/index.js';

const [dataDir, countText] = process.argv.slice(2);
if (dataDir === undefined) throw new Error('usage: store-crash-writer DATA_DIR [COUNT]');
const count = Number(countText ?? '200');

const store = await openFileStore({ dataDir });
await store.importOrders('acme', [
  { id: 'o-0', kind: 'initial', receivedAt: '2026-11-24T10:00:00+09:00', licenses: 50 },
]);
process.stdout.write('ack o-0\n');
for (let n = 1; n <= count; n++) {
  const id = `o-${n}`;
  const receivedAt = new Date(Date.UTC(2027, 0, 1) + n * 60_000).toISOString();
  await store.importOrders('acme', [{ id, kind: 'additional', receivedAt, licenses: 1 }]);
  await store.addUsage([{ tenant: 'acme', day: '2027-01-01', bytesRelayed: n, allocationSeconds: 1 }]);
  process.stdout.write(`ack ${id} ${n}\n`);
}
await store.close();
process.stdout.write('done\n');
