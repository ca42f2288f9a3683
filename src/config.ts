// Validated configuration from environment variables (names: ../shared/DESIGN.md, "External
// contracts"). A bad value stops the process with a message naming the variable.
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseClosingDays } from './entitlement/rules/business-days.js';
import { parseCidrList } from './turn/peer-filter/index.js';

/** True when SUPPORT_CLOSING_DAYS parses (the due dates of form reissue requests depend on it). */
function closingDaysValid(text: string): boolean {
  try {
    parseClosingDays(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every variable icegate reads, with its default. Unknown variables are ignored. Built by
 * loadConfig, not at import: the schema objects and the parsers zod compiles for them
 * are garbage once the configuration is read, instead of resident for the node's lifetime.
 */
function configSchema() {
  const port = z.coerce.number().int().min(1).max(65535);
  const bool = z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
  const ip = z.string().refine((v) => isIP(v) !== 0, { message: 'expected an IPv4 or IPv6 address' });
  const list = z.string().transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );
  const cidrs = list.superRefine((entries, ctx) => {
    const parsed = parseCidrList(entries.join(','));
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
  });
  const logLevel = z.enum(['error', 'warn', 'info', 'debug']);

  return z
    .object({
      TURN_LISTEN_IP: ip.default('0.0.0.0'),
      TURN_PORT: port.default(3478),
      TURN_TLS_PORT: port.default(5349),
      TURN_TLS_CERT: z.string().min(1).optional(),
      TURN_TLS_KEY: z.string().min(1).optional(),
      TURN_EXTERNAL_IP: ip.optional(),
      /** A second TLS listener, typically 443 for networks that only allow HTTPS. */
      TURN_TLS_ALT_PORT: port.optional(),
      /** The DNS name in `turns:` URLs (must match the certificate); the external IP by default. */
      TURN_TLS_HOST: z.string().min(1).max(253).optional(),
      /** An IPv6 relay address for REQUESTED-ADDRESS-FAMILY and dual-stack allocations. */
      TURN_RELAY_IP6: ip.optional(),
      TURN_EXTERNAL_IP6: ip.optional(),
      TURN_TCP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(20_000),
      TURN_TCP_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().min(1).max(1_000_000).default(1000),
      /** Seconds a TCP/TLS connection may stay silent before it holds an allocation. */
      TURN_TCP_IDLE_TIMEOUT: z.coerce.number().int().min(1).max(3600).default(30),
      TURN_RELAY_IP: ip.optional(),
      /**
       * Which path relays UDP clients' packets (issue 9): `native` (default), the addon built by
       * `npm ci`, or `js`, the portable path; without the addon, `native` runs the JS path with one
       * warning naming the reason.
       */
      TURN_DATA_PLANE: z.enum(['native', 'js'], { message: 'expected native or js' }).default('native'),
      TURN_MIN_PORT: port.default(49152),
      TURN_MAX_PORT: port.default(65535),
      TURN_REALM: z.string().min(1).max(127).default('icegate'),
      TURN_SECRETS: list
        .pipe(z.array(z.string().min(16, 'each secret needs at least 16 characters')).min(1))
        .optional(),
      TURN_ALLOW_LOOPBACK_PEERS: bool.default(false),
      TURN_DENIED_PEERS: cidrs.default([]),
      TURN_ALLOWED_PEERS: cidrs.default([]),
      TURN_ALLOCATIONS_PER_LICENSE: z.coerce.number().int().min(1).max(1000).default(4),
      /**
       * Concurrent allocations of one minted credential, fleet-wide (issue 15): a browser gathers one
       * relay candidate per TURN URL (UDP, TCP, TLS: 3) for each peer connection, and a large meeting
       * over an SFU holds two (send and receive, or the call and a screen share): 3 x 2 = 6.
       */
      TURN_ALLOCATIONS_PER_USER: z.coerce.number().int().min(1).max(1000).default(6),
      /** Unauthenticated UDP answers per source (IPv4 address or IPv6 /64): burst, then per second. */
      TURN_UNAUTH_BURST: z.coerce.number().int().min(1).max(1_000_000).default(32),
      TURN_UNAUTH_RATE: z.coerce.number().min(1).max(1_000_000).default(16),
      TURN_DEFAULT_LIFETIME: z.coerce.number().int().min(30).max(3600).default(600),
      TURN_MAX_LIFETIME: z.coerce.number().int().min(30).max(86400).default(3600),
      /**
       * Seconds a permission lasts (RFC 8656 section 9: 300) and a channel binding lasts (section 12:
       * 600); a ChannelBind keeps its peer's permission for the channel's lifetime, as coturn does.
       * Values below the RFC's are accepted for tests (a warning at start); expiry has 1 s resolution.
       */
      TURN_PERMISSION_LIFETIME: z.coerce.number().int().min(1).max(3600).default(300),
      TURN_CHANNEL_LIFETIME: z.coerce.number().int().min(1).max(3600).default(600),
      /**
       * SO_RCVBUF/SO_SNDBUF of relay sockets, bytes (issue 16: the kernel's 212,992 dropped up to 30%
       * of a peer's 1,000-datagram burst). Capped by net.core.rmem_max / wmem_max (a warning at start).
       */
      TURN_RELAY_SOCKET_BUFFER: z.coerce
        .number()
        .int()
        .min(65_536)
        .max(64 * 1024 * 1024)
        .default(2 * 1024 * 1024),
      HTTP_PORT: port.default(8080),
      HTTP_LISTEN_IP: ip.default('0.0.0.0'),
      /** Prometheus /metrics, on a listener of its own (issue 15 point 6), never on HTTP_PORT. */
      METRICS_PORT: port.default(9464),
      METRICS_LISTEN_IP: ip.default('0.0.0.0'),
      CREDENTIAL_TTL_MAX: z.coerce
        .number()
        .int()
        .min(60)
        .max(7 * 86400)
        .default(86400),
      CORS_ORIGINS: list.default([]),
      DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, message: 'expected postgres://…' }).optional(),
      DATABASE_SCHEMA: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case PostgreSQL schema name')
        .default('public'),
      DATA_DIR: z.string().min(1).default('./data'),
      REDIS_URL: z.url({ protocol: /^rediss?$/, message: 'expected redis://…' }).optional(),
      ADMIN_TOKEN_SECRET: z.string().min(32, 'needs at least 32 characters').optional(),
      SUPPORT_GRACE_DAYS: z.coerce.number().int().min(0).max(365).default(0),
      SUPPORT_CLOSING_DAYS: z
        .string()
        .optional()
        .refine((text) => text === undefined || closingDaysValid(text), {
          message:
            "expected comma-separated 'MM-DD' days or 'MM-DD..MM-DD' ranges, e.g. 08-13..08-15,12-29..01-03",
        }),
      LOG_LEVEL: logLevel.default('info'),
      /** Longest wait for live allocations to end after SIGTERM (match terminationGracePeriodSeconds). */
      DRAIN_TIMEOUT_SECONDS: z.coerce.number().int().min(0).max(86400).default(3600),
      /** Delay before a revoked or lapsed tenant's live allocations are cut (issue 4 allows up to 5 s). */
      ENFORCEMENT_GRACE_SECONDS: z.coerce.number().min(0).max(60).default(0),
      HTTP_TRUST_PROXY: z.string().optional(),
      /** Credential and admin requests per client IP per minute (a company NAT asks once per participant). */
      RATE_LIMIT_PER_IP: z.coerce.number().int().min(1).max(1_000_000).default(600),
      /** Credential requests per tenant per minute. */
      RATE_LIMIT_PER_TENANT: z.coerce.number().int().min(1).max(10_000_000).default(6000),
    })
    .refine((c) => c.TURN_MIN_PORT <= c.TURN_MAX_PORT, {
      message: 'TURN_MIN_PORT must not exceed TURN_MAX_PORT',
      path: ['TURN_MIN_PORT'],
    })
    .refine((c) => (c.TURN_TLS_CERT === undefined) === (c.TURN_TLS_KEY === undefined), {
      message: 'TURN_TLS_CERT and TURN_TLS_KEY must be set together',
      path: ['TURN_TLS_CERT'],
    })
    .refine((c) => c.TURN_RELAY_IP6 === undefined || isIP(c.TURN_RELAY_IP6) === 6, {
      message: 'TURN_RELAY_IP6 must be an IPv6 address',
      path: ['TURN_RELAY_IP6'],
    })
    .refine((c) => c.METRICS_PORT !== c.HTTP_PORT, {
      message: 'METRICS_PORT must differ from HTTP_PORT (metrics have their own listener)',
      path: ['METRICS_PORT'],
    })
    .refine((c) => c.TURN_DEFAULT_LIFETIME <= c.TURN_MAX_LIFETIME, {
      message: 'TURN_DEFAULT_LIFETIME must not exceed TURN_MAX_LIFETIME',
      path: ['TURN_DEFAULT_LIFETIME'],
    });
}

export type RawConfig = z.infer<ReturnType<typeof configSchema>>;

/** The validated configuration the composition root works from. */
export interface Config extends RawConfig {
  /** Address advertised in XOR-RELAYED-ADDRESS and in ICE server URLs. */
  externalIp: string;
  /** Address relay sockets bind. */
  relayIp: string;
  /** True when no database is configured: file store under DATA_DIR, generated secrets. */
  embedded: boolean;
}

/** A configuration problem, naming the variable. */
export class ConfigError extends Error {
  readonly code = 'ICEGATE_CONFIG';
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`invalid configuration: ${variable}: ${detail}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as shells and Helm often render them.
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v;
  const parsed = configSchema().safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const value = cleaned[variable];
    const shown = value === undefined || /SECRET|URL/.test(variable) ? '' : ` (got ${JSON.stringify(value)})`;
    throw new ConfigError(variable, `${issue.message}${shown}`);
  }
  const c = parsed.data;
  const unspecified = c.TURN_LISTEN_IP === '0.0.0.0' || c.TURN_LISTEN_IP === '::';
  const relayIp = c.TURN_RELAY_IP ?? c.TURN_LISTEN_IP;
  const externalIp = c.TURN_EXTERNAL_IP ?? (unspecified ? '127.0.0.1' : c.TURN_LISTEN_IP);
  return { ...c, relayIp, externalIp, embedded: c.DATABASE_URL === undefined };
}
