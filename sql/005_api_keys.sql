-- API keys (src/auth/): one row per key. The secret itself is never stored, only its
-- HMAC-SHA256 under the server's pepper (AUREN_SECRET, or the secret file in AUREN_DATA_DIR),
-- so a copy of this table does not let anyone call the service.

create table api_keys (
  id          uuid primary key,
  name        text not null,
  -- agent: acts only as its own agent_id; service: a program of ours (sweepers, importers);
  -- admin: everything, keys included.
  kind        text not null check (kind in ('agent', 'service', 'admin')),
  agent_id    text,
  scopes      text[] not null,
  -- The people the key may touch; null: everyone.
  tenant      text[],
  hash        bytea not null,
  created_at  timestamptz not null default now(),
  revoked_at  timestamptz,
  check ((kind = 'agent') = (agent_id is not null))
);
