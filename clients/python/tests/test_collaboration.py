"""The seed's §4 scenario as far as today's RPCs go: a biometric reading arrives, the
neuroscientist records its analysis, the nutritionist and the training agent read what the
others concluded, and the person's audit trail shows every read, naming who read what."""

import asyncio
import unittest
import uuid

from auren import AsyncAurenClient, AurenClient, MemoryType, ProposedEvent
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


if __name__ == "__main__":
    unittest.main()
