-- Which store a projection's checkpoint describes. A store that comes back without what was
-- applied to it (Chroma restarted on an empty folder, its collection deleted by hand) is a new
-- store: its id differs from the one recorded here, and the projection replays the log into it.
create table projection_stores (
  projection  text primary key,
  -- The store's own id for what the projection writes into (Chroma: the collection's id, which
  -- Chroma assigns anew each time the collection is created).
  store_id    text not null,
  updated_at  timestamptz not null default now()
);
