// Migration 4 (issue 21): the queue of reissue requests received through the vendor's form.
//
// reissue_requests: one row per request; `reference` (the form's own id) is unique per tenant so a
// resubmitted form does not queue twice (NULLs never collide: requests without one are all kept).
// `due_date` is the JST date computed at receipt (rules/reissue-due.ts); `overdue` is not stored,
// it is `pending` read after that date. The index on (state, due_date) serves the list and the
// gauges' count of open requests without scanning fulfilled history.
//
// audit_log.action: its CHECK gains the queue's three actions (dropped and re-added: a CHECK
// cannot be altered in place; existing rows are validated once, no table rewrite).

/** The reissue-request table and the audit actions of the queue. */
export const reissueRequests = `
CREATE TABLE reissue_requests (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants(id),
  server         text NOT NULL,
  reference      text,
  received_at    timestamptz NOT NULL,
  due_date       date NOT NULL,
  state          text NOT NULL CHECK (state IN ('pending', 'fulfilled', 'cancelled')),
  fulfilled_at   timestamptz,
  on_time        boolean,
  key_id         text REFERENCES license_keys(key_id),
  cancelled_at   timestamptz,
  cancel_reason  text,
  UNIQUE (tenant_id, reference),
  CHECK ((state = 'fulfilled') = (fulfilled_at IS NOT NULL AND key_id IS NOT NULL AND on_time IS NOT NULL)),
  CHECK ((state = 'cancelled') = (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL))
);
CREATE INDEX reissue_requests_state_due ON reissue_requests (state, due_date);

ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN ('orders_imported',
  'key_issued', 'key_reissued', 'key_revoked', 'reissue_replayed', 'revoked_key_refused',
  'reissue_request_received', 'reissue_request_fulfilled', 'reissue_request_cancelled'));
`;
