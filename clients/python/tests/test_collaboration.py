"""The seed's §4 scenario as far as today's RPCs go: a biometric reading arrives, the
neuroscientist records its analysis, the nutritionist and the training agent read what the
others concluded, and the person's audit trail shows every read, naming who read what."""

import asyncio
import unittest
import uuid
from datetime import datetime, timezone

from auren import Aborted, AsyncAurenClient, AurenClient, InvalidArgument, MemoryType, ProposedEvent
from tests.server import ServerOnItsOwnDatabase, shared_server

service: ServerOnItsOwnDatabase


def setUpModule() -> None:
    global service
    service = shared_server()


READING = {"hrv": 45, "resting_hr": 65, "sleep_quality": 0.7, "timestamp": "2025-07-24T10:00:00Z"}


class AgentsShareWhatTheyLearn(unittest.TestCase):
    def test_the_seed_workflow_through_the_python_client(self) -> None:
        user = f"user_{uuid.uuid4().hex[:8]}"
        connection = AurenClient(service.target, api_key=service.api_key)
        neuroscientist = connection.as_agent("neuroscientist")
        # Its own key: the server names the reader by the key, not by a header.
        nutritionist = AurenClient(service.target, api_key=service.agent_key("nutritionist"), agent="nutritionist")
        training = connection.as_agent("training_agent")

        decisions_before = neuroscientist.memory_stats().count_by_type["decision"]

        # A reading arrives from HealthKit.
        stream = f"biometrics-{user}"
        neuroscientist.append(
            stream,
            [ProposedEvent("biometric_received", {"user_id": user, "data": READING, "source": "healthkit"}, {"user_id": user})],
            expected="no_stream",
        )

        # The neuroscientist reads it and records its analysis as a decision.
        reading = neuroscientist.read_stream(stream).events[0]
        self.assertEqual(reading.data["data"]["hrv"], 45)
        decision = neuroscientist.store_memory(
            user,
            MemoryType.DECISION,
            {
                "analysis": "Elevated stress indicators in HRV data",
                "recommendation": "Focus on recovery and stress management",
            },
            confidence=0.85,
            metadata={"based_on_event": reading.event_id, "hrv": reading.data["data"]["hrv"]},
        )

        # The nutritionist reads every other agent's memories of the person and sees it.
        others = [m for m in nutritionist.iter_memories(user_id=user) if m.agent_id != "nutritionist"]
        self.assertEqual([m.id for m in others], [decision.id])
        seen = others[0]
        self.assertEqual(seen.agent_id, "neuroscientist")
        self.assertEqual(seen.type, MemoryType.DECISION)
        self.assertEqual(seen.content["analysis"], "Elevated stress indicators in HRV data")
        self.assertAlmostEqual(seen.confidence, 0.85)
        self.assertEqual(seen.metadata, {"based_on_event": reading.event_id, "hrv": 45})
        advice = nutritionist.store_memory(
            user,
            MemoryType.RECOMMENDATION,
            {"recommendation": "Magnesium-rich foods in the evening to support stress recovery"},
            confidence=0.75,
            metadata={"insights_used": [decision.id]},
        )

        # The training agent searches what everyone knows about the person's stress, with
        # the async client an asyncio agent would use.
        async def training_reads() -> list:
            client = AsyncAurenClient(service.target, api_key=service.agent_key("training_agent"), agent="training_agent")
            try:
                return await client.search_memories("stress", user_id=user, min_confidence=0.7, limit=10)
            finally:
                await client.close()

        found = asyncio.run(training_reads())
        self.assertEqual({(r.memory.id, r.memory.agent_id) for r in found}, {(decision.id, "neuroscientist"), (advice.id, "nutritionist")})
        self.assertEqual(training.memory_stats("neuroscientist").count_by_type["decision"], decisions_before + 1)

        # The audit trail: the writes, then each read naming its reader and what it got.
        trail = connection.audit_trail(user, page_size=1000).events
        created = [e.stream_id for e in trail if e.type == "memory_created"]
        self.assertEqual(created, [f"memory-{decision.id}", f"memory-{advice.id}"])
        reads = [(e.data["caller"], e.data["operation"], sorted(e.data["memory_ids"])) for e in trail if e.type == "memory_retrieved"]
        self.assertEqual(
            reads,
            [
                ("nutritionist", "list_memories", [decision.id]),
                ("training_agent", "search_memories", sorted([decision.id, advice.id])),
            ],
        )
        positions = [e.position for e in trail]
        self.assertEqual(positions, sorted(positions), "in log order")
        connection.close()


class TheCollaborationCalls(unittest.TestCase):
    """The seed's §4 session through the collaboration RPCs: a reading, a decision, the shared
    context the next agents see, a handoff, a hypothesis formed then validated."""

    def test_the_seed_session_through_the_collaboration_calls(self) -> None:
        user = f"user_{uuid.uuid4().hex[:8]}"
        neuro = AurenClient(service.target, api_key=service.agent_key("neuroscientist"), agent="neuroscientist")
        nutri = AurenClient(service.target, api_key=service.agent_key("nutritionist"), agent="nutritionist")
        training = AurenClient(service.target, api_key=service.agent_key("training_agent"), agent="training_agent")
        admin = AurenClient(service.target, api_key=service.api_key)

        measured = datetime(2025, 7, 24, 10, 0, tzinfo=timezone.utc)
        reading = admin.record_biometric_reading(user, "healthkit", READING, measured_at=measured)
        seen = neuro.biometric_readings(user, since=datetime(2025, 7, 24, tzinfo=timezone.utc), until=datetime(2025, 7, 25, tzinfo=timezone.utc))
        self.assertEqual([(r.id, r.data, r.measured_at) for r in seen], [(reading.id, READING, measured)])

        self.assertEqual(neuro.shared_context(user).memories_by_agent, {})
        decision = neuro.record_decision(
            user,
            {"analysis": "Elevated stress indicators in HRV data", "recommendation": "Focus on recovery"},
            confidence=0.85,
            urgency="high",
            context={"biometric_reading_id": reading.id},
        )
        self.assertEqual(decision.type, MemoryType.DECISION)
        self.assertEqual(decision.metadata["urgency"], "high")

        context = nutri.shared_context(user)
        self.assertEqual({a: [m.id for m in ms] for a, ms in context.memories_by_agent.items()}, {"neuroscientist": [decision.id]})
        self.assertEqual([(d.id, d.agent_id, d.confidence) for d in context.recent_decisions], [(decision.id, "neuroscientist", 0.85)])
        advice = nutri.record_decision(user, {"recommendation": "magnesium-rich dinner"}, confidence=0.8, used_memory_ids=[decision.id])
        self.assertTrue(advice.metadata["cross_agent_collaboration"])

        hypothesis = neuro.form_hypothesis(user, "Stress is disrupting deep sleep", 0.6, evidence={"hrv": 45})
        handoff = neuro.handoff(user, "training_agent", "Adjust training load for stress")
        self.assertEqual([h.id for h in training.pending_handoffs()], [handoff.id])
        context = training.shared_context(user)
        self.assertEqual(sorted(context.memories_by_agent), ["neuroscientist", "nutritionist"])
        self.assertEqual([d.id for d in context.recent_decisions], [advice.id, decision.id])
        self.assertEqual(context.validated_hypotheses, [])
        self.assertEqual(training.acknowledge_handoff(handoff.id, note="load reduced").acknowledged_by, "training_agent")
        self.assertEqual(training.pending_handoffs(), [])

        turn = training.record_conversation_turn(user, {"role": "agent", "text": "zone 2 this week"}, insights=[{"stress": "high"}])
        again = training.record_conversation_turn(user, {"role": "person", "text": "ok"}, conversation_id=turn.conversation_id)
        self.assertEqual((again.conversation_id, turn.insights, again.agent_id), (turn.conversation_id, [{"stress": "high"}], "training_agent"))

        validated = neuro.resolve_hypothesis(hypothesis.id, "validated", 0.82, evidence={"nights": 5}, expected_version=1)
        self.assertEqual((validated.status, validated.final_confidence, validated.version), ("validated", 0.82, 2))
        with self.assertRaises(Aborted) as stale:
            neuro.resolve_hypothesis(hypothesis.id, "refuted", 0.1, expected_version=1)
        self.assertIn("is at version 2, expected version 1", stale.exception.message)
        with self.assertRaises(InvalidArgument) as bad:
            neuro.handoff(user, "neuroscientist", "to myself")
        self.assertEqual(bad.exception.field, "to_agent")

        later = nutri.shared_context(user)
        self.assertEqual(
            [(h.id, h.statement, h.final_confidence, h.validation_evidence) for h in later.validated_hypotheses],
            [(hypothesis.id, "Stress is disrupting deep sleep", 0.82, {"nights": 5})],
        )
        self.assertEqual([h.id for h in nutri.hypotheses(user, statuses=["validated"])], [hypothesis.id])

        readers = [
            (e.data["caller"], e.data["operation"])
            for e in admin.audit_trail(user, page_size=1000).events
            if e.type == "memory_retrieved" and e.data["operation"] == "get_shared_context"
        ]
        self.assertEqual(
            readers,
            [("neuroscientist", "get_shared_context"), ("nutritionist", "get_shared_context"), ("training_agent", "get_shared_context"), ("nutritionist", "get_shared_context")],
        )
        for client in (neuro, nutri, training, admin):
            client.close()


class ConversationTurnsAreReadBack(unittest.TestCase):
    """RecordConversationTurn's turns read back by conversation, agent and time, a page at a
    time, sync and async; each read recorded on the person's audit trail."""

    def test_a_persons_turns_page_by_page(self) -> None:
        user = f"user_{uuid.uuid4().hex[:8]}"
        sleep = AurenClient(service.target, api_key=service.agent_key("sleep_agent"), agent="sleep_agent")
        admin = AurenClient(service.target, api_key=service.api_key)
        first = sleep.record_conversation_turn(user, {"role": "agent", "text": "how did you sleep?"})
        second = sleep.record_conversation_turn(user, {"role": "person", "text": "badly"}, conversation_id=first.conversation_id)
        other = admin.record_conversation_turn(user, {"role": "agent", "text": "eat earlier"}, agent_id="nutritionist")

        seen, token, pages = [], "", 0
        while True:
            page = admin.conversation_turns(user, page_size=1, page_token=token)
            seen.extend(turn.id for turn in page)
            pages += 1
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(seen, [first.id, second.id, other.id])
        self.assertEqual(pages, 3)
        conversation = admin.conversation_turns(user, conversation_id=first.conversation_id, newest_first=True)
        self.assertEqual([(t.id, t.message_context["text"]) for t in conversation], [(second.id, "badly"), (first.id, "how did you sleep?")])
        self.assertEqual(conversation.next_page_token, "")
        self.assertEqual([t.id for t in admin.conversation_turns(user, agent_id="nutritionist")], [other.id])
        self.assertEqual(admin.conversation_turns(user, until=datetime(2000, 1, 1, tzinfo=timezone.utc)), [])
        self.assertEqual([t.id for t in sleep.conversation_turns(user, agent_id="sleep_agent")], [first.id, second.id])
        with self.assertRaises(InvalidArgument) as bad:
            admin.conversation_turns(user, page_token="forged")
        self.assertEqual(bad.exception.field, "page_token")

        async def read_async() -> list:
            client = AsyncAurenClient(service.target, api_key=service.api_key)
            try:
                return list(await client.conversation_turns(user, conversation_id=first.conversation_id))
            finally:
                await client.close()

        self.assertEqual([t.id for t in asyncio.run(read_async())], [first.id, second.id])
        reads = [
            e.data["turn_ids"]
            for e in admin.audit_trail(user, page_size=1000).events
            if e.type == "data_accessed" and e.data["operation"] == "list_conversation_turns"
        ]
        self.assertEqual(reads[:3], [[first.id], [second.id], [other.id]])
        self.assertFalse(admin.shared_context(user, requesting_agent="x").truncated)
        for client in (sleep, admin):
            client.close()


if __name__ == "__main__":
    unittest.main()
