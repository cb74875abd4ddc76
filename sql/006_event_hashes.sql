-- Tamper-evident log: each event carries a keyed hash (HMAC-SHA256 under a key derived from the
-- server's secret) over its predecessor's hash in its stream and a canonical encoding of its own
-- fields (sql/functions/event_chain.sql). `auren audit verify` recomputes the chains: a row
-- changed, removed or inserted through SQL, behind the service's back, no longer fits, and
-- without the key nobody can make it fit again.

alter table events add column hash bytea;

-- Events already in the log when hashing began carry no hash and are not checked.
create table event_chain_start (
  id    boolean primary key default true check (id),
  after bigint not null
);
insert into event_chain_start (after) select last from log_head;
