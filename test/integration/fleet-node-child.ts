// The entry a fleet test runs as a child process it may kill (kill -9) or stop (SIGSTOP): a whole
// node from the environment, with the test's Redis key prefix (TEST_REDIS_PREFIX).
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log/logger.js';
import { startIcegate } from '../../src/main.js';

const config = loadConfig();
const prefix = process.env['TEST_REDIS_PREFIX'];
await startIcegate(config, {
  logger: createLogger({ level: config.LOG_LEVEL }),
  ...(prefix === undefined ? {} : { redisPrefix: prefix }),
  // Every request of the test comes from 127.0.0.1.
  rateLimits: { perIp: { limit: 100_000, windowMs: 60_000 } },
});
