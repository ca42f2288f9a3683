// A Lua script run by its SHA1 (EVALSHA): the hot paths (the fleet allocation ledger on every
// Allocate, the Redis rate limiter on every credential request) used to send the script's text
// with every call, which Redis then hashed to find its compiled copy. The text is sent only when
// Redis answers NOSCRIPT (after a restart or SCRIPT FLUSH), and Redis keeps it from then on.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export class RedisScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source, 'utf8').digest('hex');
  }

  /** EVALSHA with `keys` and `args`; EVAL of the text once when Redis does not hold the script. */
  async run(
    redis: Pick<Redis, 'evalsha' | 'eval'>,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
