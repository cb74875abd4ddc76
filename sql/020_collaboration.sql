-- Agent collaboration (the seed's §3.6): read models kept by the trigger
-- apply_collaboration_event (sql/functions/) in the statement that appends their events, so a
-- row never exists without its event. Each row carries its stream's version. Only the
-- collaboration module writes these streams (the event store refuses them to clients):
--   handoff-<id>, hypothesis-<id>, user-profile-<user id>, knowledge-<id>,
--   conversation-<conversation id>, biometric-<user id>; decision-<memory id> has no row of its
--   own (the decision is a memory, in memories).
-- Person ids are text, as everywhere in this service (the seed's UUID user ids are not).

create table user_profiles (
  user_id          text primary key,
  profile_data     jsonb not null check (jsonb_typeof(profile_data) = 'object'),
  preferences      jsonb not null check (jsonb_typeof(preferences) = 'object'),
  privacy_settings jsonb not null check (jsonb_typeof(privacy_settings) = 'object'),
  created_at       timestamptz not null,
  updated_at       timestamptz not null,
  version          bigint not null check (version >= 1),
  last_event_id    uuid not null
);

create table conversation_memories (
  id                uuid primary key,
  conversation_id   uuid not null,
  agent_id          text not null,
  user_id           text not null,
  message_context   jsonb not null check (jsonb_typeof(message_context) = 'object'),
  insights          jsonb not null check (jsonb_typeof(insights) = 'array'),
  follow_up_actions jsonb not null check (jsonb_typeof(follow_up_actions) = 'array'),
  created_at        timestamptz not null,
  event_id          uuid not null
);
create index conversation_memories_conversation on conversation_memories (conversation_id, created_at);
create index conversation_memories_user_newest on conversation_memories (user_id, created_at desc);

create table specialist_knowledge (
  id                uuid primary key,
  agent_id          text not null,
  domain            text not null,
  knowledge_type    text not null,
  content           jsonb not null check (jsonb_typeof(content) = 'object'),
  confidence        double precision not null check (confidence >= 0 and confidence <= 1),
  evidence          jsonb not null check (jsonb_typeof(evidence) = 'object'),
  validation_status text not null check (validation_status in ('pending', 'validated', 'rejected')),
  validated_by      text,
  created_at        timestamptz not null,
  validated_at      timestamptz,
  version           bigint not null check (version >= 1),
  last_event_id     uuid not null
);
-- ListKnowledge: by agent and domain, most confident first; by status, most confident first.
create index specialist_knowledge_agent_domain on specialist_knowledge (agent_id, domain, confidence desc);
create index specialist_knowledge_status on specialist_knowledge (validation_status, confidence desc);

create table hypotheses (
  id                  uuid primary key,
  agent_id            text not null,
  user_id             text not null,
  statement           text not null,
  status              text not null check (status in ('formed', 'validated', 'refuted')),
  initial_confidence  double precision not null check (initial_confidence >= 0 and initial_confidence <= 1),
  evidence            jsonb not null check (jsonb_typeof(evidence) = 'object'),
  final_confidence    double precision check (final_confidence >= 0 and final_confidence <= 1),
  validation_evidence jsonb check (jsonb_typeof(validation_evidence) = 'object'),
  resolved_by         text,
  formed_at           timestamptz not null,
  resolved_at         timestamptz,
  version             bigint not null check (version >= 1),
  last_event_id       uuid not null
);
-- ListHypotheses: a person's, newest formed first. GetSharedContext: validated, newest validation first.
create index hypotheses_user_newest on hypotheses (user_id, formed_at desc, id desc);
create index hypotheses_user_validated on hypotheses (user_id, resolved_at desc, id desc) where status = 'validated';

create table agent_handoffs (
  id                   uuid primary key,
  user_id              text not null,
  from_agent           text not null,
  to_agent             text not null check (to_agent <> from_agent),
  topic                text not null,
  context              jsonb not null check (jsonb_typeof(context) = 'object'),
  reason               text not null,
  handoff_type         text not null,
  urgency              text not null,
  requires_response    boolean not null,
  memory_id            uuid not null,
  created_at           timestamptz not null,
  acknowledged_at      timestamptz,
  acknowledged_by      text,
  acknowledgement_note text,
  version              bigint not null check (version >= 1),
  last_event_id        uuid not null
);
-- ListPendingHandoffs: an agent's unacknowledged handoffs, oldest first.
create index agent_handoffs_pending on agent_handoffs (to_agent, created_at, id) where acknowledged_at is null;

create table biometric_readings (
  id          uuid primary key,
  user_id     text not null,
  source      text not null,
  data        jsonb not null check (jsonb_typeof(data) = 'object'),
  measured_at timestamptz not null,
  recorded_at timestamptz not null,
  event_id    uuid not null
);
-- ListBiometricReadings: a person's readings by time of measurement.
create index biometric_readings_user_measured on biometric_readings (user_id, measured_at, id);
