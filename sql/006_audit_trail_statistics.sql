-- Estimates for the audit trail (events.aboutPersonQuery: metadata->>'user_id' = $1 in log order).
-- The planner does not use the statistics of the partial index events_user_order, so without
-- these it takes every person for 0.5% of the log: a person with a long trail was read whole and
-- sorted for every page. With them it walks the index in order and stops at the page's end.
-- Measured in test/memory/history.int.spec.ts ("answers from the index events_user_order").
create statistics events_user_id_stats on ((metadata->>'user_id')) from events;
