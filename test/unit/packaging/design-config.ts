// The configuration contract of DESIGN.md ("External contracts"), as the packaging checks read it.
// When src/config.ts exports its variable names and defaults, these checks should import them
// from there instead.

/** Every configuration variable DESIGN.md names, plus the TLS file paths it mentions. */
export const DESIGN_ENV_NAMES = [
  'TURN_LISTEN_IP',
  'TURN_PORT',
  'TURN_TLS_PORT',
  'TURN_TLS_CERT',
  'TURN_TLS_KEY',
  'TURN_EXTERNAL_IP',
  'TURN_RELAY_IP',
  'TURN_MIN_PORT',
  'TURN_MAX_PORT',
  'TURN_REALM',
  'TURN_SECRETS',
  'TURN_ALLOW_LOOPBACK_PEERS',
  'TURN_DENIED_PEERS',
  'TURN_ALLOWED_PEERS',
  'TURN_ALLOCATIONS_PER_LICENSE',
  'TURN_ALLOCATIONS_PER_USER',
  'TURN_PERMISSION_LIFETIME',
  'TURN_CHANNEL_LIFETIME',
  'TURN_RELAY_SOCKET_BUFFER',
  'HTTP_PORT',
  'METRICS_PORT',
  'METRICS_LISTEN_IP',
  'DATABASE_URL',
  'DATA_DIR',
  'REDIS_URL',
  'ADMIN_TOKEN_SECRET',
  // src/config.ts: the drain deadline, which packaging fits inside the platform's stop timeout.
  'DRAIN_TIMEOUT_SECONDS',
  // src/config.ts: the closing days that due dates of form reissue requests skip (issue 21).
  'SUPPORT_CLOSING_DAYS',
] as const;

/**
 * Seconds every packaging keeps between icegate's drain deadline and the platform's SIGKILL,
 * for closing the remaining allocations and writing usage (the image's plain `docker stop`
 * budget: 10 s stop timeout, 8 s drain).
 */
export const MIN_DRAIN_MARGIN_SECONDS = 2;

/** Variables that hold secrets: only ever referenced from a Kubernetes Secret, never written out. */
export const SECRET_ENV_NAMES = ['TURN_SECRETS', 'ADMIN_TOKEN_SECRET', 'REDIS_URL', 'DATABASE_URL'] as const;

/** DESIGN.md defaults that packaging repeats. */
export const DESIGN_DEFAULTS = {
  TURN_LISTEN_IP: '0.0.0.0',
  TURN_PORT: 3478,
  TURN_TLS_PORT: 5349,
  TURN_MIN_PORT: 49152,
  TURN_MAX_PORT: 65535,
  TURN_REALM: 'icegate',
  TURN_ALLOCATIONS_PER_LICENSE: 4,
  HTTP_PORT: 8080,
  METRICS_PORT: 9464,
  METRICS_LISTEN_IP: '0.0.0.0',
} as const;
