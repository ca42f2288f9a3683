// The OpenAPI description of the reissue-request queue (issue 21), kept apart from openapi.ts so
// that file stays readable; openapi.ts spreads these into its schemas and paths.

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });
const refusal = (description: string) => ({ description, content: json(ref('Error')) });
const instant: Schema = { type: 'string', format: 'date-time' };
const nullableInstant: Schema = { type: ['string', 'null'], format: 'date-time' };

const adminRefusals = {
  '401': refusal('invalid_token or token_expired (admin JWT)'),
  '403': refusal('forbidden: the token lacks the admin scope'),
  '429': refusal('rate_limited'),
  '503': refusal('entitlement_unavailable: the store is unavailable'),
};
const bodyRefusals = {
  '400': refusal('invalid_request: malformed JSON or a body that does not match the schema'),
  '413': refusal('payload_too_large: the body exceeds 16 kB'),
  '415': refusal('unsupported_media_type: a body that is not application/json'),
};
const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'the request id, rr_ and 20 characters a-z 2-7',
};

const requestProperties: Record<string, Schema> = {
  id: { type: 'string', pattern: '^rr_[a-z2-7]{20}$' },
  tenant: { type: 'string' },
  server: { type: 'string', description: 'the server identity the new key is bound to' },
  reference: { type: ['string', 'null'], description: "the form's own id, unique per tenant" },
  receivedAt: instant,
  dueDate: {
    type: 'string',
    pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$',
    description:
      'JST date by which the key must be sent: the day of receipt when it is a business day and ' +
      'receipt is at or before 17:00 JST, else the next business day (as `icegate reissue-due`)',
  },
  state: {
    type: 'string',
    enum: ['pending', 'overdue', 'fulfilled', 'cancelled'],
    description: 'overdue: still pending after the end of dueDate (JST)',
  },
  fulfilledAt: nullableInstant,
  onTime: {
    type: ['boolean', 'null'],
    description: 'fulfilled by the end of dueDate (JST); null unless fulfilled',
  },
  keyId: { type: ['string', 'null'], description: 'the key sent; null unless fulfilled' },
  cancelledAt: nullableInstant,
  cancelReason: { type: ['string', 'null'] },
};
const requestRequired = Object.keys(requestProperties);

/** Component schemas of the queue. */
export const reissueRequestSchemas: Record<string, Schema> = {
  ReissueRequest: {
    type: 'object',
    required: requestRequired,
    additionalProperties: false,
    properties: requestProperties,
  },
  FulfilledReissueRequest: {
    type: 'object',
    description:
      'The request; `key` (the new license key, <keyId>.<secret>) and `revoked` only in the answer ' +
      'of the call that fulfilled it. A repeat answers the fulfilled request without them.',
    required: requestRequired,
    additionalProperties: false,
    properties: {
      ...requestProperties,
      key: { type: 'string' },
      revoked: { type: 'array', items: { type: 'string' } },
    },
  },
  NewReissueRequest: {
    type: 'object',
    required: ['tenant', 'server'],
    additionalProperties: false,
    properties: {
      tenant: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
      server: { type: 'string', minLength: 1, maxLength: 255 },
      receivedAt: { ...instant, description: 'when the form was received; default now; not in the future' },
      reference: { type: 'string', pattern: '^[!-~]{1,128}$', description: "the form's own id" },
    },
  },
};

/** Paths of the queue. */
export const reissueRequestPaths: Record<string, Schema> = {
  '/v1/admin/reissue-requests': {
    post: {
      operationId: 'queueReissueRequest',
      summary: 'Queues a license-key reissue requested through the form, with its due date',
      security: [{ adminJwt: [] }],
      requestBody: { required: true, content: json(ref('NewReissueRequest')) },
      responses: {
        '201': { description: 'queued', content: json(ref('ReissueRequest')) },
        '200': {
          description: 'a resubmitted form (same tenant, reference and server): the request queued before',
          content: json(ref('ReissueRequest')),
        },
        ...bodyRefusals,
        '404': refusal('unknown_tenant'),
        '409': refusal('reissue_request_conflict: the reference was queued for another server'),
        ...adminRefusals,
        '403': refusal('forbidden, or support_inactive: reissue needs active support or grace'),
      },
    },
    get: {
      operationId: 'listReissueRequests',
      summary: 'Reissue requests ordered by due date',
      security: [{ adminJwt: [] }],
      parameters: [
        {
          name: 'state',
          in: 'query',
          required: false,
          schema: { type: 'string', enum: ['pending', 'overdue', 'done'] },
          description: 'done: fulfilled and cancelled requests; omitted: all',
        },
        {
          name: 'tenant',
          in: 'query',
          required: false,
          schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
        },
      ],
      responses: {
        '200': {
          description: 'the requests',
          content: json({
            type: 'object',
            required: ['requests'],
            additionalProperties: false,
            properties: { requests: { type: 'array', items: ref('ReissueRequest') } },
          }),
        },
        '400': refusal('invalid_request: an unknown state or a bad tenant id'),
        ...adminRefusals,
      },
    },
  },
  '/v1/admin/reissue-requests/{id}': {
    get: {
      operationId: 'getReissueRequest',
      security: [{ adminJwt: [] }],
      parameters: [idParam],
      responses: {
        '200': { description: 'the request', content: json(ref('ReissueRequest')) },
        '404': refusal('unknown_reissue_request'),
        ...adminRefusals,
      },
    },
  },
  '/v1/admin/reissue-requests/{id}/fulfil': {
    post: {
      operationId: 'fulfilReissueRequest',
      summary: "Reissues the tenant's key for the requested server and closes the request",
      description:
        'The old key is revoked fleet-wide as with any reissue, in the transaction that marks the ' +
        'request fulfilled. Idempotent and race-safe: concurrent or repeated calls make one key, ' +
        'and only the call that made it sees it.',
      security: [{ adminJwt: [] }],
      parameters: [idParam],
      responses: {
        '200': { description: 'the fulfilled request', content: json(ref('FulfilledReissueRequest')) },
        '404': refusal('unknown_reissue_request'),
        '409': refusal('reissue_request_closed: the request was cancelled'),
        ...adminRefusals,
      },
    },
  },
  '/v1/admin/reissue-requests/{id}/cancel': {
    post: {
      operationId: 'cancelReissueRequest',
      security: [{ adminJwt: [] }],
      parameters: [idParam],
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          required: ['reason'],
          properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
        }),
      },
      responses: {
        '200': {
          description: 'the cancelled request (a repeat answers it unchanged)',
          content: json(ref('ReissueRequest')),
        },
        ...bodyRefusals,
        '404': refusal('unknown_reissue_request'),
        '409': refusal('reissue_request_closed: the request was fulfilled'),
        ...adminRefusals,
      },
    },
  },
};
