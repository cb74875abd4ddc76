-- append_batch appends several appends in one statement, each with its own expected version,
-- its own idempotency and its own outcome: one refused append never fails its neighbours.
-- Every write to the event store goes through it (the service's group commit sends every
-- append that arrives while the previous batch commits, so one commit serves them all).
--
-- p_appends: a JSON array of {stream_id, expected, expected_version, events}, where expected is
-- 'any' | 'no_stream' | 'stream_exists' | 'exact' (with expected_version) and events is an
-- array of {event_id, type, data, metadata, correlation_id, causation_id}.
-- Returns one row per append, by its index (ord, from 1):
--   'appended'               the events were written at first_position..last_position;
--   'duplicate'              every event id was already appended with the same content (by an
--                            earlier call, or earlier in this batch): its result is returned;
--   'wrong_expected_version' nothing written; stream_version is the actual version;
--   'duplicate_id_conflict'  an event id was already used with other content or in another
--                            stream: nothing written; conflicting_ids names them;
--   'watch_mismatch'         the append's condition on another stream did not hold: nothing
--                            written; watched_version is that stream's actual version.
-- created_at is when the events were (or, for a duplicate, had been) written.
-- An append may add a condition on another stream, {..., watch: {stream_id, version}}: it is
-- written only if that stream is at that version (0: does not exist) at the append's own place
-- in the log. This transaction holds the log's counter from its first statement, so no other
-- append can come between the check and the commit. A read answered from a cache records its
-- audit event this way, watching the memory it returns: recorded means the cached state is
-- the memory's state at the record; refused, the cache was behind and nothing was written.
-- Or a condition on a part of the log, {..., unchanged: {after, stream_prefix, data, max_scan}}:
-- written only if no event after position `after` is on a stream starting with stream_prefix
-- with data containing `data` (jsonb @>), and at most max_scan events follow `after` (a bound
-- on the check's cost; past it the condition does not hold). A list answered from a cache
-- records its read this way, `after` being the position the cache had applied: recorded means
-- nothing the list depends on changed between what the cache holds and the record.

-- p_inner, p_outer: the pads of the log's hash-chain key (sql/functions/event_chain.sql), from the
-- service; for this transaction only. Without them (or with the trigger events_chain disabled) the
-- events get no hash. Both paths hash their events in their inserts (event_chain_hash); the
-- trigger only stands behind them.
drop function if exists append_batch(jsonb);
-- The result's columns changed (watched_version): replace only a function with the old ones.
do $drop$ begin
  if exists (select 1 from pg_proc where proname = 'append_batch'
              and pg_get_function_result(oid) not like '%watched_version%') then
    drop function append_batch(jsonb, bytea, bytea);
  end if;
end $drop$;
-- Whether no event after p_cond.after, up to p_last (the log's end as the caller holds it), is
-- on a stream starting with p_cond.stream_prefix with data containing p_cond.data; false too
-- when more than p_cond.max_scan events follow p_cond.after up to p_batch (the log's end
-- before the batch: the same bound for every append of a batch, so a group of appends with one
-- condition is written whole or not at all). A range of the primary key.
drop function if exists unchanged_since(jsonb, bigint);
create or replace function unchanged_since(p_cond jsonb, p_last bigint, p_batch bigint) returns boolean language sql stable as $$
  select p_batch - (p_cond->>'after')::bigint <= (p_cond->>'max_scan')::bigint
     and not exists (select 1 from events ev
                      where ev.position > (p_cond->>'after')::bigint and ev.position <= p_last
                        and starts_with(ev.stream_id, p_cond->>'stream_prefix') and ev.data @> (p_cond->'data'))
$$;

-- Whether an append's expected version holds for a stream at p_current (0: no such stream).
create or replace function expected_version_holds(p_expected text, p_expected_version bigint, p_current bigint)
returns boolean language sql immutable as $$
  select not ((p_expected = 'no_stream' and p_current <> 0)
              or (p_expected = 'stream_exists' and p_current = 0)
              or (p_expected = 'exact' and p_current <> p_expected_version))
$$;

create or replace function append_batch(p_appends jsonb, p_inner bytea default null, p_outer bytea default null)
returns table (
  ord             int,
  outcome         text,
  stream_version  bigint,
  first_position  bigint,
  last_position   bigint,
  created_at      timestamptz,
  conflicting_ids text,
  watched_version bigint
) language plpgsql as $$
declare
  v_last     bigint;
  v_ids_all  uuid[];
  v_streams  text[];
  v_append   jsonb;
  v_ord      int;
  v_stream   text;
  v_expected text;
  v_events   jsonb;
  v_count    int;
  v_current  bigint;
  v_ids      uuid[];
  v_found    int;
  v_same     int;
  v_watch    jsonb;
  v_watched  bigint;
  v_batch    bigint;
  v_chain    boolean;
  v_chained  boolean;
  v_before   bytea;
  v_plans    text := current_setting('plan_cache_mode');
begin
  -- Hashed when the service gave its key and the chain is on (the trigger enabled).
  v_chain := p_inner is not null
             and coalesce((select t.tgenabled <> 'D' from pg_trigger t
                            where t.tgrelid = 'events'::regclass and t.tgname = 'events_chain'), false);
  if p_inner is not null then
    perform set_config('auren.chain_inner', encode(p_inner, 'hex'), true), set_config('auren.chain_outer', encode(p_outer, 'hex'), true);
  end if;
  -- The counter first: from here to commit this transaction is the only appender (see
  -- log_head in 001_event_store.sql), so positions follow commit order and the checks below
  -- see every earlier append.
  update log_head set last = last where id returning last into v_last;
  v_batch := v_last;

  -- The common batch, in a few set-wise statements: every event id new, no condition on a stream
  -- the batch writes. A stream may take several appends (at 32 clients most batches do, and
  -- reads of one person record to one stream): each is checked against the version the ones
  -- before it leave (a fold over the stream's appends in batch order), which answers what taking
  -- them one by one would. Anything else (a retry, an id twice, a condition on a written stream)
  -- takes the loop below.
  select array_agg((ev->>'event_id')::uuid) into v_ids_all
    from jsonb_array_elements(p_appends) as a(e), jsonb_array_elements(a.e->'events') as x(ev);
  select array_agg(a.e->>'stream_id') into v_streams from jsonb_array_elements(p_appends) as a(e);
  if cardinality(v_ids_all) = (select count(distinct i) from unnest(v_ids_all) as u(i))
     and not exists (select 1 from events ev where ev.event_id = any(v_ids_all))
     and not exists (select 1 from jsonb_array_elements(p_appends) as a(e) where a.e->'watch'->>'stream_id' = any(v_streams))
     and not exists (select 1 from jsonb_array_elements(p_appends) as a(e), unnest(v_streams) as u(st)
                      where starts_with(u.st, a.e->'unchanged'->>'stream_prefix')) then
    -- Planned once per connection: left to choose, PostgreSQL planned this statement again on
    -- every call (a custom plan), which cost about as much as running it (measured with the
    -- chain's columns: 180 vs 108 µs of backend CPU per event at 16 appends a batch, load 10–15,
    -- BENCHMARKS.md "Security"). Its generic plan probes the same indexes.
    perform set_config('plan_cache_mode', 'force_generic_plan', true);
    return query
      with recursive a as (
        select o::int as ord, e->>'stream_id' as stream_id, e->>'expected' as expected,
               (e->>'expected_version')::bigint as expected_version, e->'events' as events,
               jsonb_array_length(e->'events') as n, e->'watch'->>'stream_id' as watch,
               (e->'watch'->>'version')::bigint as watch_version, e->'unchanged' as unchanged,
               -- The append's turn on its stream: 1 for the stream's first append in the batch.
               row_number() over (partition by e->>'stream_id' order by o)::int as turn
          from jsonb_array_elements(p_appends) with ordinality as t(e, o)
      ), current_versions as (
        -- By the array, not by a join to `a`: the planner takes a jsonb set for 100 rows and
        -- hash-joined a scan of all of streams (measured: 12.1 ms of a 12.5 ms statement at
        -- 26,000 streams); = any() probes the primary key.
        select s.stream_id, s.version from streams s where s.stream_id = any(v_streams) for update
      ), last_hashes as materialized (
        -- The hash of each stream's last event, which its first event in the batch chains to: one
        -- probe of the unique index per locked row, fenced (materialized, offset 0) so that no plan
        -- can do otherwise. Left to the planner, the generic plan a connection made while events
        -- was small joined it to the batch's rows and read the whole stream by stream_id for each
        -- batch: GetMemory's records, all on one access stream, cost more every round (PostgreSQL
        -- CPU per call 1,325 -> 5,090 µs over 4 runs of 2,000 calls, BENCHMARKS.md "Security").
        select c.stream_id, h.hash
          from current_versions c
         cross join lateral (select e.hash from events e where e.stream_id = c.stream_id and e.version = c.version offset 0) h
         where v_chain
      ), watched as (
        -- Streams the batch does not write: their versions hold for the whole batch.
        select a.ord, coalesce((select s.version from streams s where s.stream_id = a.watch), 0) as version
          from a where a.watch is not null
      ), unchanged as (
        -- Parts of the log the batch does not write: what holds for the first append holds for all.
        select a.ord, unchanged_since(a.unchanged, v_last, v_last) as holds from a where a.unchanged is not null
      ), conditioned as (
        select a.*, coalesce(c.version, 0) as stream_version, w.version as watched_version,
               (a.watch is null or w.version = a.watch_version) and coalesce(u.holds, true) as condition_ok
          from a left join current_versions c on c.stream_id = a.stream_id left join watched w on w.ord = a.ord
               left join unchanged u on u.ord = a.ord
      ), folded (ord, stream_id, turn, n, cur_version, version_ok, condition_ok) as (
        -- Each stream's appends in batch order, each against the version the ones before it left:
        -- a refused append leaves it as it was. One step per append to one stream.
        select c.ord, c.stream_id, c.turn, c.n, c.stream_version,
               expected_version_holds(c.expected, c.expected_version, c.stream_version), c.condition_ok
          from conditioned c where c.turn = 1
        union all
        select c.ord, c.stream_id, c.turn, c.n, v.version, expected_version_holds(c.expected, c.expected_version, v.version),
               c.condition_ok
          from folded f join conditioned c on c.stream_id = f.stream_id and c.turn = f.turn + 1
         cross join lateral (select f.cur_version + case when f.version_ok and f.condition_ok then f.n else 0 end as version) v
      ), checked as (
        select c.*, f.cur_version, f.version_ok, f.version_ok and c.condition_ok as ok
          from conditioned c join folded f on f.ord = c.ord
      ), placed as (
        -- Positions in the order of the batch, counting only the appends that go in.
        select checked.*, v_last + coalesce(sum(checked.n) filter (where checked.ok)
                 over (order by checked.ord rows between unbounded preceding and 1 preceding), 0) as base
          from checked
      ), new_versions as (
        insert into streams as s (stream_id, version)
        select p.stream_id, max(p.cur_version + p.n) from placed p where p.ok group by p.stream_id
            on conflict (stream_id) do update set version = excluded.version, updated_at = now()
      ), new_events as (
        select p.base + x.k as position, (x.ev->>'event_id')::uuid as event_id, p.stream_id, p.cur_version + x.k as version,
               x.ev->>'type' as type, x.ev->'data' as data, x.ev->'metadata' as metadata,
               x.ev->>'correlation_id' as correlation_id, x.ev->>'causation_id' as causation_id, p.stream_version
          from placed p
         cross join lateral jsonb_array_elements(p.events) with ordinality as x(ev, k)
         where p.ok
      ), written as (
        -- Hashed here, each event over the one before it in its stream (the stream's last hash
        -- for its first): the trigger event_chain, which did it per row with a lookup of the
        -- predecessor each, cost more than the hash itself (BENCHMARKS.md "Security"). A stream
        -- whose last event is missing gets no hash here: the trigger refuses its first event.
        insert into events (position, event_id, stream_id, version, type, data, metadata, correlation_id, causation_id,
                            created_at, hash)
        select e.position, e.event_id, e.stream_id, e.version, e.type, e.data, e.metadata, e.correlation_id, e.causation_id,
               now(),
               event_chain_hash(l.hash, p_inner, p_outer, e.event_id, e.stream_id, e.version, e.type, e.data, e.metadata,
                                e.correlation_id, e.causation_id, e.position, now())
                 filter (where v_chain and (e.stream_version = 0 or l.stream_id is not null))
                 over (partition by e.stream_id order by e.version rows between unbounded preceding and current row)
          from new_events e
          left join last_hashes l on l.stream_id = e.stream_id
         order by e.position
      )
      select p.ord,
             case when p.ok then 'appended' when p.version_ok then 'watch_mismatch' else 'wrong_expected_version' end,
             case when p.ok then p.cur_version + p.n else p.cur_version end,
             case when p.ok then p.base + 1 end,
             case when p.ok then p.base + p.n end,
             case when p.ok then now() end,
             null::text,
             p.watched_version
        from placed p order by p.ord;
    perform set_config('plan_cache_mode', v_plans, true);
    select coalesce(max(ev.position), v_last) into v_last from events ev where ev.position > v_last;
    update log_head set last = v_last where id;
    return;
  end if;

  for v_append, v_ord in select a.e, a.o from jsonb_array_elements(p_appends) with ordinality as a(e, o) loop
    v_stream := v_append->>'stream_id';
    v_expected := v_append->>'expected';
    v_events := v_append->'events';
    v_count := jsonb_array_length(v_events);
    v_watch := v_append->'watch';
    v_watched := null;
    if v_watch is not null then
      select coalesce((select s.version from streams s where s.stream_id = v_watch->>'stream_id'), 0) into v_watched;
    end if;

    select s.version into v_current from streams s where s.stream_id = v_stream for update;
    if not found then
      v_current := 0;
    end if;

    -- Idempotent retry: the same event ids again return the first result. Probe the unique
    -- index with = any(): joined to jsonb_array_elements (which the planner takes for 100
    -- rows) the probe became a scan of the whole table while it was small.
    select array_agg((e->>'event_id')::uuid order by o) into v_ids
      from jsonb_array_elements(v_events) with ordinality as t(e, o);
    select count(*) into v_found from events ev where ev.event_id = any(v_ids);
    if v_found > 0 then
      select count(*) into v_same
        from jsonb_array_elements(v_events) as p(e)
        join events ev on ev.event_id = (p.e->>'event_id')::uuid
       where ev.stream_id = v_stream
         and ev.type = p.e->>'type'
         and ev.data = p.e->'data'
         and ev.metadata = p.e->'metadata'
         and ev.correlation_id is not distinct from p.e->>'correlation_id'
         and ev.causation_id is not distinct from p.e->>'causation_id';
      if v_found = v_count and v_same = v_count then
        return query
          select v_ord, 'duplicate'::text, max(ev.version), min(ev.position), max(ev.position), min(ev.created_at), null::text,
                 v_watched
            from events ev where ev.event_id = any(v_ids);
      else
        return query
          select v_ord, 'duplicate_id_conflict'::text, v_current, null::bigint, null::bigint, null::timestamptz,
                 string_agg(ev.event_id::text, ','), v_watched
            from events ev where ev.event_id = any(v_ids);
      end if;
      continue;
    end if;

    if not expected_version_holds(v_expected, (v_append->>'expected_version')::bigint, v_current) then
      return query select v_ord, 'wrong_expected_version'::text, v_current, null::bigint, null::bigint, null::timestamptz, null::text,
                          v_watched;
      continue;
    end if;

    if (v_watch is not null and v_watched <> (v_watch->>'version')::bigint)
       or (v_append ? 'unchanged' and not unchanged_since(v_append->'unchanged', v_last, v_batch)) then
      return query select v_ord, 'watch_mismatch'::text, v_current, null::bigint, null::bigint, null::timestamptz, null::text,
                          v_watched;
      continue;
    end if;

    insert into streams as s (stream_id, version) values (v_stream, v_current + v_count)
      on conflict (stream_id) do update set version = excluded.version, updated_at = now();
    -- Hashed here as in the common batch, over the stream's last event; when that is missing, not:
    -- the trigger refuses the first event.
    v_before := null;
    v_chained := v_chain;
    if v_chain and v_current > 0 then
      select ev.hash into v_before from events ev where ev.stream_id = v_stream and ev.version = v_current;
      v_chained := found;
    end if;
    insert into events (position, event_id, stream_id, version, type, data, metadata, correlation_id, causation_id,
                        created_at, hash)
    select v_last + o, (e->>'event_id')::uuid, v_stream, v_current + o, e->>'type', e->'data', e->'metadata',
           e->>'correlation_id', e->>'causation_id', now(),
           event_chain_hash(v_before, p_inner, p_outer, (e->>'event_id')::uuid, v_stream, v_current + o, e->>'type',
                            e->'data', e->'metadata', e->>'correlation_id', e->>'causation_id', v_last + o, now())
             filter (where v_chained) over (order by o rows between unbounded preceding and current row)
      from jsonb_array_elements(v_events) with ordinality as t(e, o)
     order by o;
    return query select v_ord, 'appended'::text, v_current + v_count, v_last + 1, v_last + v_count, now(), null::text,
                        v_watched;
    v_last := v_last + v_count;
  end loop;

  update log_head set last = v_last where id;
end;
$$;
