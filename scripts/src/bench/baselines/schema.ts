/**
 * The seed's alternative design, for the `postgres-insert` baseline: every webhook a row,
 * indexed for listing by path, by time, and for JSONB queries on the payload.
 */
export const WEBHOOKS_SCHEMA = `
CREATE TABLE webhooks (
  id           bigserial PRIMARY KEY,
  webhook_path text        NOT NULL,
  event        text        NOT NULL,
  delivery_id  text        NOT NULL UNIQUE,
  headers      jsonb       NOT NULL,
  payload      jsonb       NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_path_id_idx ON webhooks (webhook_path, id);
CREATE INDEX webhooks_received_at_idx ON webhooks (received_at);
CREATE INDEX webhooks_payload_gin_idx ON webhooks USING GIN (payload);
`;
