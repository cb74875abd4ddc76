-- The size of each event's and each memory's documents, as JSON text in bytes. Reads stop a
-- page where these add up past a byte budget (RESPONSE_MAX_BYTES, TAIL_PAGE_MAX_BYTES), in the
-- query itself: a page too large for a client, or for the service's memory, is never read.
-- Generated and stored, so no writer can forget it and a read costs no conversion.
alter table events
  add column size integer not null generated always as (octet_length(data::text) + octet_length(metadata::text)) stored;
alter table memories
  add column size integer not null generated always as (octet_length(content::text) + octet_length(metadata::text)) stored;
