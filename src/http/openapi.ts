// The OpenAPI 3.1 description of the public and admin HTTP API, served at /openapi.json.
// Hand-written so it reads as the contract; the integration tests validate real responses
// against it, so it cannot drift from the code unnoticed.
import { AUDIT_ACTIONS } from '../entitlement/store/index.js';
import { HTTP_ERROR_CODES } from './http-error.js';
import { reissueRequestPaths, reissueRequestSchemas } from './openapi-reissue-requests.js';
import { requestIdHeaders, requestIdParameters, withRequestId } from './openapi-request-id.js';

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });
const jstDate: Schema = {
  type: 'string',
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$',
  description: 'JST calendar date',
};
const instant: Schema = { type: 'string', format: 'date-time' };

function refusal(description: string) {
  return { description, content: json(ref('Error')) };
}

const tokenRefusals = {
  '401': refusal('invalid_token, token_expired, unknown_license or license_revoked'),
  '429': {
    description: 'rate_limited',
    headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds until the window ends' } },
    content: json(ref('Error')),
  },
  '503': refusal('entitlement_unavailable: the entitlement cannot be checked now (fail closed)'),
};

const entitledRefusals = {
  ...tokenRefusals,
  '403': refusal('support_expired (also: orders imported but none accepted) or support_not_started'),
  '404': refusal('unknown_tenant: the tenant was never imported (no orders at all)'),
};

const bodyRefusals = {
  '400': refusal('invalid_request: malformed JSON or a body that does not match the schema'),
  '413': refusal('payload_too_large: the body exceeds 16 kB'),
  '415': refusal('unsupported_media_type: a body that is not application/json'),
};

const adminRefusals = {
  '401': refusal('invalid_token or token_expired (admin JWT)'),
  '403': refusal('forbidden: the token lacks the admin scope'),
  '429': tokenRefusals['429'],
};

const tenantParam = {
  name: 'tenant',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
};

const schemas: Record<string, Schema> = {
  Error: {
    type: 'object',
    required: ['error', 'message'],
    additionalProperties: false,
    properties: { error: { type: 'string', enum: [...HTTP_ERROR_CODES] }, message: { type: 'string' } },
  },
  IceServersRequest: {
    type: 'object',
    properties: {
      ttl: {
        type: 'integer',
        minimum: 1,
        description: 'Requested credential lifetime in seconds; longer requests get the configured maximum.',
      },
    },
  },
  IceServer: {
    type: 'object',
    description: 'A W3C RTCIceServer.',
    required: ['urls'],
    additionalProperties: false,
    properties: {
      urls: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^(stun|turn|turns):' } },
      username: { type: 'string' },
      credential: { type: 'string' },
    },
  },
  IceServers: {
    type: 'object',
    description: 'Passed unchanged to new RTCPeerConnection(body).',
    required: ['iceServers', 'ttl', 'expiresAt'],
    additionalProperties: false,
    properties: {
      iceServers: { type: 'array', minItems: 1, items: ref('IceServer') },
      ttl: { type: 'integer', minimum: 1 },
      expiresAt: instant,
    },
  },
  TurnCredentials: {
    type: 'object',
    description: 'draft-uberti-rtcweb-turn-rest-00 section 2.2 response.',
    required: ['username', 'password', 'ttl', 'uris'],
    additionalProperties: false,
    properties: {
      username: { type: 'string', pattern: '^[0-9]+:[A-Za-z0-9._-]+(:[^:]+)?$' },
      password: { type: 'string' },
      ttl: { type: 'integer', minimum: 1 },
      uris: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^(turn|turns):' } },
    },
  },
  ServerRequest: {
    type: 'object',
    required: ['server'],
    properties: { server: { type: 'string', minLength: 1, maxLength: 255 } },
  },
  NewLicenseKey: {
    type: 'object',
    required: ['keyId', 'key'],
    properties: {
      keyId: { type: 'string' },
      key: { type: 'string', description: '<keyId>.<secret>: shown once' },
      revoked: { type: 'array', items: { type: 'string' } },
    },
  },
  Tenant: {
    type: 'object',
    required: ['id', 'name', 'createdAt'],
    additionalProperties: false,
    properties: { id: { type: 'string' }, name: { type: ['string', 'null'] }, createdAt: instant },
  },
  Order: {
    type: 'object',
    required: ['id', 'kind', 'receivedAt', 'licenses'],
    properties: {
      id: { type: 'string', minLength: 1 },
      kind: { type: 'string', enum: ['initial', 'renewal', 'recontinuation', 'additional'] },
      receivedAt: { type: 'string', description: 'ISO-8601 instant with an offset' },
      licenses: { type: 'integer', minimum: 1 },
      certificate: {
        type: 'object',
        required: ['start', 'end'],
        properties: { start: jstDate, end: jstDate },
      },
    },
  },
  OrderHistory: {
    type: 'object',
    description: 'The order-history file of DOMAIN.md; `name` optionally sets the display name.',
    required: ['tenant', 'orders'],
    properties: {
      tenant: { type: 'string' },
      name: { type: 'string' },
      orders: { type: 'array', items: ref('Order') },
    },
  },
  Rejection: {
    type: 'object',
    required: ['order', 'code', 'message'],
    properties: {
      order: { type: 'string' },
      code: {
        type: 'string',
        enum: [
          'recontinuation_required',
          'renewal_applies',
          'no_prior_support',
          'already_initialised',
          'no_active_support',
        ],
      },
      message: { type: 'string' },
    },
  },
  ImportResult: {
    type: 'object',
    required: ['tenant', 'accepted', 'rejected', 'unchanged', 'statusChanged'],
    additionalProperties: false,
    properties: {
      tenant: { type: 'string' },
      accepted: { type: 'array', items: { type: 'string' } },
      rejected: { type: 'array', items: ref('Rejection') },
      unchanged: { type: 'array', items: { type: 'string' } },
      statusChanged: { type: 'array', items: { type: 'string' } },
    },
  },
  SupportPeriod: {
    type: 'object',
    required: ['order', 'kind', 'serviceFrom', 'start', 'end', 'licenses'],
    properties: {
      order: { type: 'string' },
      kind: { type: 'string' },
      serviceFrom: jstDate,
      start: jstDate,
      end: jstDate,
      licenses: { type: 'integer' },
    },
  },
  Timeline: {
    type: 'object',
    required: ['tenant', 'periods', 'rejected'],
    properties: {
      tenant: { type: 'string' },
      periods: { type: 'array', items: ref('SupportPeriod') },
      rejected: { type: 'array', items: ref('Rejection') },
    },
  },
  Entitlement: {
    type: 'object',
    required: ['tenant', 'active', 'state', 'licenses', 'until'],
    additionalProperties: false,
    properties: {
      tenant: { type: 'string' },
      active: { type: 'boolean' },
      state: { type: 'string', enum: ['active', 'grace', 'not_started', 'expired', 'none', 'unknown'] },
      licenses: { type: 'integer', minimum: 0 },
      until: { oneOf: [jstDate, { type: 'null' }] },
    },
  },
  LicenseKey: {
    type: 'object',
    description: 'A license key without its secret.',
    required: ['keyId', 'tenant', 'serverIdentity', 'issuedAt', 'revokedAt', 'replacedBy'],
    additionalProperties: false,
    properties: {
      keyId: { type: 'string' },
      tenant: { type: 'string' },
      serverIdentity: { type: 'string' },
      issuedAt: instant,
      revokedAt: { oneOf: [instant, { type: 'null' }] },
      replacedBy: { type: ['string', 'null'] },
    },
  },
  TenantDetail: {
    type: 'object',
    required: ['tenant', 'timeline', 'entitlement', 'keys'],
    additionalProperties: false,
    properties: {
      tenant: ref('Tenant'),
      timeline: ref('Timeline'),
      entitlement: ref('Entitlement'),
      keys: { type: 'array', items: ref('LicenseKey') },
    },
  },
  UsageRow: {
    type: 'object',
    description: "One tenant's relay usage on one JST day.",
    required: ['day', 'tenant', 'bytesRelayed', 'allocationSeconds'],
    additionalProperties: false,
    properties: {
      day: jstDate,
      tenant: { type: 'string' },
      bytesRelayed: { type: 'integer', minimum: 0, description: 'payload bytes relayed, both directions' },
      allocationSeconds: { type: 'integer', minimum: 0, description: 'seconds of allocations held' },
    },
  },
  UsageTotal: {
    type: 'object',
    required: ['tenant', 'bytesRelayed', 'allocationSeconds'],
    additionalProperties: false,
    properties: {
      tenant: { type: 'string' },
      bytesRelayed: { type: 'integer', minimum: 0 },
      allocationSeconds: { type: 'integer', minimum: 0 },
    },
  },
  UsageReport: {
    type: 'object',
    required: ['from', 'to', 'source', 'rows', 'totals'],
    additionalProperties: false,
    properties: {
      from: jstDate,
      to: jstDate,
      source: {
        type: 'string',
        enum: ['store', 'live'],
        description: 'store: flushed counts; live: also the fleet view in Redis (larger of the two)',
      },
      rows: { type: 'array', items: ref('UsageRow'), description: 'sorted by day, then tenant' },
      totals: { type: 'array', items: ref('UsageTotal'), description: 'per tenant over the range' },
    },
  },
  AuditRecord: {
    type: 'object',
    description: 'One tenant or key operation. Never holds a secret.',
    required: ['seq', 'at', 'tenant', 'action', 'outcome', 'actor', 'client', 'keyId', 'details'],
    additionalProperties: false,
    properties: {
      seq: { type: 'integer', minimum: 1, description: 'insertion order; the pagination cursor' },
      at: instant,
      tenant: { type: ['string', 'null'] },
      // The store's own list, so a new action cannot be stored without being described here.
      action: { type: 'string', enum: [...AUDIT_ACTIONS] },
      outcome: { type: 'string', enum: ['ok', 'no_change', 'refused'] },
      actor: {
        type: 'string',
        description:
          'admin:<sub> (or admin), key:<keyId> (the signing key of a self-service request), cli:<OS user>',
      },
      client: { type: ['string', 'null'], description: 'client IP address; null from the CLI' },
      keyId: { type: ['string', 'null'], description: 'the key concerned (the new key of a reissue)' },
      details: {
        type: 'object',
        additionalProperties: {
          oneOf: [
            { type: 'string' },
            { type: 'number' },
            { type: 'boolean' },
            { type: 'null' },
            { type: 'array', items: { type: 'string' } },
          ],
        },
      },
    },
  },
  ...reissueRequestSchemas,
  Allocation: {
    type: 'object',
    description: 'A live TURN allocation and the node that holds it.',
    required: [
      'node',
      'id',
      'tenant',
      'username',
      'transport',
      'client',
      'relayed',
      'createdAt',
      'expiresAt',
    ],
    properties: {
      node: { type: 'string', description: 'the node holding it (its fleet id: host/pid/random)' },
      id: { type: 'integer', description: 'unique on its node' },
      tenant: { type: 'string' },
      username: { type: 'string' },
      keyId: { type: ['string', 'null'] },
      transport: { type: 'string', enum: ['udp', 'tcp', 'tls'] },
      client: { type: 'string', description: 'client transport address, ip:port' },
      relayed: { type: 'string', description: 'relayed transport address, ip:port' },
      createdAt: instant,
      expiresAt: instant,
    },
  },
};

/** Which nodes answered a fleet-wide admin request (present with Redis). */
const fleetCoverage = {
  answered: { type: 'array', items: { type: 'string' }, description: 'node ids that answered' },
  unreachable: {
    type: 'array',
    items: { type: 'string' },
    description: 'node ids with a heartbeat that did not answer in time (their allocations are missing)',
  },
  complete: { type: 'boolean', description: 'false when a node did not answer or Redis was unavailable' },
};

/** The OpenAPI document of the icegate HTTP API. */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'icegate',
    version: '1',
    description:
      'TURN credentials for entitled tenants, self-service license-key reissue, and the admin API. ' +
      'Every refusal is JSON {error, message} with a stable code. Prometheus metrics are not on this ' +
      'port: GET /metrics is served on its own listener (METRICS_PORT, default 9464).',
  },
  servers: [{ url: '/' }],
  components: {
    securitySchemes: {
      tenantJwt: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'HS256 with the license key secret; kid = key id; exp required, at most 10 minutes ahead; ' +
          'iat, when present, not more than 5 s in the future.',
      },
      adminJwt: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'HS256 with ADMIN_TOKEN_SECRET; scope "admin"; iss "icegate"; aud "icegate-admin"; exp required, ' +
          'at most 365 days ahead; iat, when present, not more than 5 s in the future. ' +
          '`icegate admin-token` mints such a token.',
      },
    },
    schemas,
    parameters: requestIdParameters,
    headers: requestIdHeaders,
  },
  paths: withRequestId({
    '/v1/ice-servers': {
      post: {
        operationId: 'getIceServers',
        summary: 'ICE servers with a fresh TURN credential for an entitled tenant',
        security: [{ tenantJwt: [] }],
        requestBody: { required: false, content: json(ref('IceServersRequest')) },
        responses: {
          '200': { description: 'RTCConfiguration', content: json(ref('IceServers')) },
          ...bodyRefusals,
          ...entitledRefusals,
        },
      },
    },
    '/v1/turn-credentials': {
      get: {
        operationId: 'getTurnCredentials',
        summary: 'A TURN credential in the draft-uberti-rtcweb-turn-rest shape',
        security: [{ tenantJwt: [] }],
        parameters: [
          { name: 'service', in: 'query', required: true, schema: { type: 'string', enum: ['turn'] } },
        ],
        responses: {
          '200': { description: 'credential', content: json(ref('TurnCredentials')) },
          '400': refusal('invalid_request: service is not "turn"'),
          ...entitledRefusals,
        },
      },
    },
    '/v1/license-keys/reissue': {
      post: {
        operationId: 'reissueOwnKey',
        summary: 'Self-service reissue: a new key bound to a new server; the signing key is revoked',
        description:
          'The new key and the revocation of the signing key commit together. When the answer is ' +
          'lost (an error or no answer), the caller may hold only the revoked key: send an ' +
          'Idempotency-Key with every reissue and retry with the same value, the same server and ' +
          'a token of the same (old) key. A retry whose reissue was committed is answered 200 with ' +
          'the same keyId and key (a replay: nothing is written or revoked again, and other nodes are ' +
          'told of the change again) while the new key is ' +
          'still in force and at most 24 hours old; a retry whose reissue was not committed ' +
          'performs it. A token of a revoked key is otherwise refused with 401 license_revoked. ' +
          "The write succeeds only while the signing key is still the tenant's active key (a " +
          'compare-and-set in the same transaction): of concurrent reissues with one key exactly ' +
          'one succeeds, and a request that lost to another reissue or a revocation of that key is ' +
          'refused with 401 license_revoked.',
        security: [{ tenantJwt: [] }],
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description:
              'A fresh random value (a UUID) per reissue the caller means, the same value on its ' +
              'retries (draft-ietf-httpapi-idempotency-key-header). Kept only as a SHA-256 hash ' +
              'with the new key.',
            schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
          },
        ],
        requestBody: { required: true, content: json(ref('ServerRequest')) },
        responses: {
          '200': {
            description: 'the new key, or for a replayed retry the key the original request created',
            content: json(ref('NewLicenseKey')),
          },
          ...bodyRefusals,
          '400': refusal(
            'invalid_request: malformed JSON, a body that does not match the schema, or an ' +
              'Idempotency-Key that is not 1-255 visible ASCII characters',
          ),
          ...entitledRefusals,
          '401': refusal(
            'invalid_token, token_expired, unknown_license, or license_revoked (also a retry that ' +
              'does not match the reissue of the revoked key: another Idempotency-Key or server, ' +
              'none, more than 24 hours later, or its new key no longer in force)',
          ),
        },
      },
    },
    '/v1/admin/tenants': {
      get: {
        operationId: 'listTenants',
        security: [{ adminJwt: [] }],
        responses: {
          '200': {
            description: 'all tenants',
            content: json({
              type: 'object',
              required: ['tenants'],
              properties: { tenants: { type: 'array', items: ref('Tenant') } },
            }),
          },
          ...adminRefusals,
        },
      },
    },
    '/v1/admin/orders': {
      post: {
        operationId: 'importOrders',
        summary: "Imports a tenant's orders (idempotent by order id)",
        security: [{ adminJwt: [] }],
        requestBody: { required: true, content: json(ref('OrderHistory')) },
        responses: {
          '200': { description: 'what the import did', content: json(ref('ImportResult')) },
          ...bodyRefusals,
          '409': refusal('order_conflict: an order id reused with different content'),
          ...adminRefusals,
          '503': refusal('entitlement_unavailable: the store is unavailable'),
        },
      },
    },
    '/v1/admin/tenants/{tenant}': {
      get: {
        operationId: 'showTenant',
        security: [{ adminJwt: [] }],
        parameters: [tenantParam],
        responses: {
          '200': { description: 'timeline, entitlement now, keys', content: json(ref('TenantDetail')) },
          '404': refusal('unknown_tenant'),
          ...adminRefusals,
        },
      },
    },
    '/v1/admin/tenants/{tenant}/license-keys': {
      get: {
        operationId: 'listKeys',
        security: [{ adminJwt: [] }],
        parameters: [tenantParam],
        responses: {
          '200': {
            description: "the tenant's keys, oldest first",
            content: json({
              type: 'object',
              required: ['keys'],
              properties: { keys: { type: 'array', items: ref('LicenseKey') } },
            }),
          },
          '404': refusal('unknown_tenant'),
          ...adminRefusals,
        },
      },
      post: {
        operationId: 'issueKey',
        summary: 'Issues the first key of a tenant',
        security: [{ adminJwt: [] }],
        parameters: [tenantParam],
        requestBody: { required: true, content: json(ref('ServerRequest')) },
        responses: {
          '201': { description: 'the new key', content: json(ref('NewLicenseKey')) },
          ...bodyRefusals,
          '404': refusal('unknown_tenant'),
          '409': refusal('active_key_exists: use reissue'),
          ...adminRefusals,
        },
      },
    },
    '/v1/admin/tenants/{tenant}/license-keys/reissue': {
      post: {
        operationId: 'adminReissueKey',
        summary: "Reissues a tenant's key for a new server and revokes the old one",
        security: [{ adminJwt: [] }],
        parameters: [tenantParam],
        requestBody: { required: true, content: json(ref('ServerRequest')) },
        responses: {
          '200': { description: 'the new key and the revoked ones', content: json(ref('NewLicenseKey')) },
          ...bodyRefusals,
          '404': refusal('unknown_tenant'),
          ...adminRefusals,
          '403': refusal('forbidden, or support_inactive: reissue needs active support or grace'),
        },
      },
    },
    '/v1/admin/license-keys/{keyId}/revoke': {
      post: {
        operationId: 'revokeKey',
        description:
          "Revokes the key and, when the tenant's key in force was made from it by self-service " +
          'reissues (whoever held this key could have made it), that key too, in one transaction.',
        security: [{ adminJwt: [] }],
        parameters: [{ name: 'keyId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description: 'the revoked key, and every key this call revoked (empty when nothing changed)',
            content: json({
              type: 'object',
              required: ['key', 'revoked'],
              properties: { key: ref('LicenseKey'), revoked: { type: 'array', items: { type: 'string' } } },
            }),
          },
          '404': refusal('unknown_key'),
          ...adminRefusals,
        },
      },
    },
    ...reissueRequestPaths,
    '/v1/admin/audit': {
      get: {
        operationId: 'auditTrail',
        summary: 'The audit trail of tenant and license-key operations, oldest first, a page at a time',
        description:
          'One record per import, issue, reissue (tenant, admin or CLI), revocation, written in the ' +
          'transaction of the change; replays and refusals of a revoked key are aggregated per key ' +
          'and 15-minute window (the first at once, then one summary with a count). Pass `next` ' +
          'as `after` for the following page; `next` is null on the last page.',
        security: [{ adminJwt: [] }],
        parameters: [
          { name: 'tenant', in: 'query', required: false, schema: tenantParam.schema },
          {
            name: 'from',
            in: 'query',
            required: false,
            schema: { type: 'string' },
            description: 'records at or after this ISO-8601 instant with offset, or from this JST date',
          },
          {
            name: 'to',
            in: 'query',
            required: false,
            schema: { type: 'string' },
            description: 'records before this ISO-8601 instant with offset, or before this JST date',
          },
          { name: 'after', in: 'query', required: false, schema: { type: 'integer', minimum: 0 } },
          {
            name: 'limit',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        ],
        responses: {
          '200': {
            description: 'one page',
            content: json({
              type: 'object',
              required: ['records', 'next'],
              additionalProperties: false,
              properties: {
                records: { type: 'array', items: ref('AuditRecord') },
                next: { type: ['integer', 'null'] },
              },
            }),
          },
          '400': refusal('invalid_request: a bad tenant, instant, cursor or limit, or from after to'),
          ...adminRefusals,
          '503': refusal('entitlement_unavailable: the store is unavailable'),
        },
      },
    },
    '/v1/admin/usage': {
      get: {
        operationId: 'usageReport',
        summary: 'Bytes relayed and allocation-seconds per tenant per JST day',
        description:
          "Each node adds its own counts to the store every minute and at shutdown; the answering node's " +
          'counts are flushed first. source=live also reads the fleet-wide per-day view in Redis ' +
          '(when configured) and answers the larger of each counter; the Icegate-Usage-Source header ' +
          'and the source field say which was used.',
        security: [{ adminJwt: [] }],
        parameters: [
          { name: 'from', in: 'query', required: true, schema: jstDate },
          {
            name: 'to',
            in: 'query',
            required: true,
            schema: jstDate,
            description: 'inclusive; at most 366 days',
          },
          {
            name: 'format',
            in: 'query',
            required: false,
            schema: { type: 'string', enum: ['json', 'csv'], default: 'json' },
          },
          {
            name: 'source',
            in: 'query',
            required: false,
            schema: { type: 'string', enum: ['store', 'live'], default: 'store' },
          },
        ],
        responses: {
          '200': {
            description: 'the report',
            headers: {
              'Icegate-Usage-Source': { schema: { type: 'string', enum: ['store', 'live'] } },
            },
            content: {
              ...json(ref('UsageReport')),
              'text/csv': {
                schema: {
                  type: 'string',
                  description: 'RFC 4180, CRLF, header day,tenant,bytes_relayed,allocation_seconds',
                  pattern: '^day,tenant,bytes_relayed,allocation_seconds\\r\\n',
                },
              },
            },
          },
          '400': refusal(
            'invalid_request: a bad date, from after to, a range over 366 days, or a bad option',
          ),
          ...adminRefusals,
          '503': refusal('entitlement_unavailable: the store is unavailable'),
        },
      },
    },
    '/v1/admin/tenants/{tenant}/allocations': {
      get: {
        operationId: 'listAllocations',
        summary:
          "The tenant's live allocations on every node of the fleet (with Redis; else on the node that answers)",
        security: [{ adminJwt: [] }],
        parameters: [tenantParam],
        responses: {
          '200': {
            description: 'allocations, each with its node; with Redis, which nodes answered',
            content: json({
              type: 'object',
              required: ['allocations'],
              properties: {
                allocations: { type: 'array', items: ref('Allocation') },
                ...fleetCoverage,
              },
            }),
          },
          '404': refusal('unknown_tenant'),
          ...adminRefusals,
        },
      },
      delete: {
        operationId: 'closeAllocations',
        summary:
          "Closes the tenant's live allocations on every node of the fleet (with Redis; else on the node that answers)",
        security: [{ adminJwt: [] }],
        parameters: [tenantParam],
        responses: {
          '200': {
            description: 'how many were closed; with Redis, which nodes answered',
            content: json({
              type: 'object',
              required: ['closed'],
              properties: { closed: { type: 'integer', minimum: 0 }, ...fleetCoverage },
            }),
          },
          '404': refusal('unknown_tenant'),
          ...adminRefusals,
        },
      },
    },
    '/healthz': {
      get: {
        operationId: 'health',
        summary: 'The process answers',
        responses: {
          '200': {
            description: 'up',
            content: json({ type: 'object', required: ['status'], properties: { status: { const: 'ok' } } }),
          },
        },
      },
    },
    '/readyz': {
      get: {
        operationId: 'readiness',
        summary: 'Ready for new traffic (503 while starting or draining)',
        responses: {
          '200': {
            description: 'ready',
            content: json({
              type: 'object',
              required: ['status'],
              properties: { status: { const: 'ready' } },
            }),
          },
          '503': {
            description: 'starting or draining',
            content: json({
              type: 'object',
              required: ['status'],
              properties: { status: { enum: ['starting', 'draining'] } },
            }),
          },
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        responses: { '200': { description: 'this document', content: json({ type: 'object' }) } },
      },
    },
    '/check': {
      get: {
        operationId: 'checkPage',
        summary: "Connectivity-check page for a customer's network admin (takes a tenant token)",
        responses: {
          '200': { description: 'page', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      },
    },
    '/check/check.js': {
      get: {
        operationId: 'checkPageScript',
        responses: {
          '200': {
            description: 'script',
            content: { 'application/javascript': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/check/check.css': {
      get: {
        operationId: 'checkPageStyle',
        responses: {
          '200': { description: 'stylesheet', content: { 'text/css': { schema: { type: 'string' } } } },
        },
      },
    },
    '/check/config.json': {
      get: {
        operationId: 'checkPageConfig',
        summary:
          'What the check page names in its advice (relay port range) and whether it measures a round trip',
        responses: {
          '200': {
            description: 'page settings',
            content: json({
              type: 'object',
              required: ['relayPorts', 'measureRoundTrip'],
              properties: {
                relayPorts: {
                  oneOf: [
                    { type: 'null' },
                    {
                      type: 'object',
                      required: ['min', 'max'],
                      properties: { min: { type: 'integer' }, max: { type: 'integer' } },
                    },
                  ],
                },
                measureRoundTrip: { type: 'boolean' },
              },
            }),
          },
        },
      },
    },
  }),
} as const;
