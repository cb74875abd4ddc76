-- The collaboration lists page by a keyset and stop a page at a byte budget
-- (RESPONSE_MAX_BYTES), as ListMemories does (sql/004_document_sizes.sql): each row's size, as
-- text in bytes, of its documents and free text, generated and stored so no writer can forget it.
alter table agent_handoffs
  add column size integer not null generated always as (
    octet_length(context::text) + octet_length(topic) + octet_length(reason) + octet_length(coalesce(acknowledgement_note, ''))) stored;
alter table hypotheses
  add column size integer not null generated always as (
    octet_length(statement) + octet_length(evidence::text) + octet_length(coalesce(validation_evidence::text, ''))) stored;
alter table specialist_knowledge
  add column size integer not null generated always as (octet_length(content::text) + octet_length(evidence::text)) stored;
alter table biometric_readings
  add column size integer not null generated always as (octet_length(source) + octet_length(data::text)) stored;
alter table conversation_memories
  add column size integer not null generated always as (
    octet_length(message_context::text) + octet_length(insights::text) + octet_length(follow_up_actions::text)) stored;

-- ListConversationTurns: a person's turns in time order (either way), and one conversation's;
-- the id completes the keyset, so a page boundary inside one microsecond neither skips nor repeats.
drop index conversation_memories_conversation;
drop index conversation_memories_user_newest;
create index conversation_memories_user_time on conversation_memories (user_id, created_at, id);
create index conversation_memories_conversation_time on conversation_memories (conversation_id, user_id, created_at, id);
-- ListKnowledge's order everywhere, so that a page's keyset condition is an index range.
create index specialist_knowledge_order on specialist_knowledge (confidence desc, created_at desc, id desc);
