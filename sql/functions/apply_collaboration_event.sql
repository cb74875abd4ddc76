-- Keeps the collaboration tables (sql/020_collaboration.sql) in the statement that appends an
-- event of the collaboration module's streams: a row is what its stream's events say, at its
-- stream's version. Only that module writes these streams (the event store refuses them to
-- clients); agent_decision (stream decision-<memory id>) has no row: the decision is a memory.

create or replace function apply_collaboration_event() returns trigger language plpgsql as $$
declare
  d jsonb := new.data;
begin
  case new.type
    when 'agent_decision' then
      return null;
    when 'agent_handoff' then
      insert into agent_handoffs (id, user_id, from_agent, to_agent, topic, context, reason, handoff_type, urgency,
                                  requires_response, memory_id, created_at, version, last_event_id)
      values ((d->>'handoff_id')::uuid, d->>'user_id', d->>'from_agent', d->>'to_agent', d->>'topic', d->'handoff_context',
              d->>'handoff_reason', d->>'handoff_type', d->>'urgency', (d->>'requires_response')::boolean,
              (d->>'memory_id')::uuid, new.created_at, new.version, new.event_id);
    when 'handoff_acknowledged' then
      update agent_handoffs
         set acknowledged_at = new.created_at, acknowledged_by = d->>'acknowledged_by', acknowledgement_note = d->>'note',
             version = new.version, last_event_id = new.event_id
       where id = (d->>'handoff_id')::uuid;
    when 'conversation_turn' then
      insert into conversation_memories (id, conversation_id, agent_id, user_id, message_context, insights,
                                         follow_up_actions, created_at, event_id)
      values ((d->>'turn_id')::uuid, (d->>'conversation_id')::uuid, d->>'agent_id', d->>'user_id', d->'message_context',
              d->'insights', d->'follow_up_actions', new.created_at, new.event_id);
    when 'hypothesis_formed' then
      insert into hypotheses (id, agent_id, user_id, statement, status, initial_confidence, evidence, formed_at,
                              version, last_event_id)
      values ((d->>'hypothesis_id')::uuid, d->>'agent_id', d->>'user_id', d->>'hypothesis', 'formed',
              (d->>'confidence')::double precision, d->'evidence', new.created_at, new.version, new.event_id);
    when 'hypothesis_validated', 'hypothesis_refuted' then
      update hypotheses
         set status = case new.type when 'hypothesis_validated' then 'validated' else 'refuted' end,
             final_confidence = (d->>'final_confidence')::double precision, validation_evidence = d->'validation_evidence',
             resolved_by = d->>'agent_id', resolved_at = new.created_at, version = new.version, last_event_id = new.event_id
       where id = (d->>'hypothesis_id')::uuid;
    when 'user_profile_created' then
      insert into user_profiles (user_id, profile_data, preferences, privacy_settings, created_at, updated_at,
                                 version, last_event_id)
      values (d->>'user_id', d->'profile_data', d->'preferences', d->'privacy_settings', new.created_at, new.created_at,
              new.version, new.event_id);
    when 'user_profile_updated' then
      update user_profiles
         set profile_data = coalesce(d->'profile_data', profile_data), preferences = coalesce(d->'preferences', preferences),
             privacy_settings = coalesce(d->'privacy_settings', privacy_settings),
             updated_at = new.created_at, version = new.version, last_event_id = new.event_id
       where user_id = d->>'user_id';
    when 'knowledge_added' then
      insert into specialist_knowledge (id, agent_id, domain, knowledge_type, content, confidence, evidence,
                                        validation_status, created_at, version, last_event_id)
      values ((d->>'knowledge_id')::uuid, d->>'agent_id', d->>'domain', d->>'knowledge_type', d->'content',
              (d->>'confidence')::double precision, d->'evidence', 'pending', new.created_at, new.version, new.event_id);
    when 'knowledge_validated' then
      update specialist_knowledge
         set validation_status = d->>'validation_status', evidence = coalesce(d->'evidence', evidence),
             confidence = coalesce((d->>'confidence')::double precision, confidence), validated_by = d->>'validated_by',
             validated_at = new.created_at, version = new.version, last_event_id = new.event_id
       where id = (d->>'knowledge_id')::uuid;
    when 'biometric_received' then
      insert into biometric_readings (id, user_id, source, data, measured_at, recorded_at, event_id)
      values ((d->>'reading_id')::uuid, d->>'user_id', d->>'source', d->'data',
              coalesce((d->>'measured_at')::timestamptz, new.created_at), new.created_at, new.event_id);
    else
      raise exception 'unknown collaboration event type % on stream %', new.type, new.stream_id;
  end case;
  if not found then
    raise exception 'collaboration event % of stream % has no row to change', new.type, new.stream_id;
  end if;
  return null;
end;
$$;

create or replace trigger collaboration_from_events after insert on events
  for each row when (new.stream_id like 'handoff-%' or new.stream_id like 'hypothesis-%' or new.stream_id like 'user-profile-%'
                     or new.stream_id like 'knowledge-%' or new.stream_id like 'conversation-%' or new.stream_id like 'biometric-%'
                     or new.stream_id like 'decision-%')
  execute function apply_collaboration_event();
