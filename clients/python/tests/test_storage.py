"""AurenMemoryStorage: CrewAI's save / search / reset for one agent, inside and outside a
running event loop."""

import asyncio
import unittest
import uuid

from auren import AurenClient, AurenMemoryStorage, MemoryType, NotFound
from tests.server import ServerOnItsOwnDatabase, shared_server

service: ServerOnItsOwnDatabase
client: AurenClient


def setUpModule() -> None:
    global service, client
    service = shared_server()
    client = AurenClient(service.target, api_key=service.api_key)


def tearDownModule() -> None:
    client.close()


def person() -> str:
    return f"user_{uuid.uuid4().hex[:10]}"


class Entity:
    """Stands in for a CrewAI entity: anything with model_dump."""

    def __init__(self, name: str) -> None:
        self.name = name

    def model_dump(self) -> dict:
        return {"name": self.name, "kind": "supplement"}


class SaveAndSearch(unittest.TestCase):
    def test_saves_and_finds_a_memory_outside_an_event_loop(self) -> None:
        storage = AurenMemoryStorage("sleep_agent", person(), client=client)
        memory_id = storage.save("Deep sleep fell below 40 minutes after late caffeine", {"confidence": 0.8, "source": "oura"})
        storage.save("Prefers evening walks", {"confidence": 0.6})

        results = storage.search("caffeine sleep", limit=5)

        self.assertEqual([r["id"] for r in results], [memory_id])
        found = results[0]
        self.assertEqual(found["content"], {"value": "Deep sleep fell below 40 minutes after late caffeine"})
        self.assertEqual(found["context"], "Deep sleep fell below 40 minutes after late caffeine")
        self.assertEqual(found["metadata"]["source"], "oura")
        self.assertEqual(found["metadata"]["memory_id"], memory_id)
        self.assertAlmostEqual(found["metadata"]["confidence"], 0.8)
        self.assertGreater(found["score"], 0)
        stored = client.get_memory(memory_id)
        self.assertEqual((stored.agent_id, stored.type), ("sleep_agent", MemoryType.ANALYSIS))
        self.assertNotIn("confidence", stored.metadata)

    def test_answers_inside_a_running_event_loop(self) -> None:
        storage = AurenMemoryStorage("nutritionist", person(), client=client)

        async def agent_step() -> tuple:
            # The seed's search returned [] here; a blocking call needs no loop of its own.
            saved = storage.save("Magnesium glycinate before bed improved sleep latency", {})
            found = storage.search("magnesium")
            # And without blocking the loop: the same calls on a worker thread.
            saved_async = await storage.asave({"note": "Magnesium dose is 200 mg"}, {"memory_type": "fact"})
            found_async = await storage.asearch("magnesium", limit=10)
            return saved, found, saved_async, found_async

        saved, found, saved_async, found_async = asyncio.run(agent_step())
        self.assertEqual([r["id"] for r in found], [saved])
        self.assertEqual({r["id"] for r in found_async}, {saved, saved_async})
        self.assertEqual(client.get_memory(saved_async).type, MemoryType.FACT)

    def test_stores_an_entity_as_a_fact(self) -> None:
        storage = AurenMemoryStorage("nutritionist", person(), client=client)
        memory = client.get_memory(storage.save(Entity("magnesium"), {}))
        self.assertEqual(memory.type, MemoryType.FACT)
        self.assertEqual(memory.content, {"entity_type": "Entity", "data": {"name": "magnesium", "kind": "supplement"}})

    def test_limit_and_score_threshold_narrow_the_results(self) -> None:
        storage = AurenMemoryStorage("training_agent", person(), client=client)
        for i in range(4):
            storage.save(f"Interval run number {i} felt hard", {})
        self.assertEqual(len(storage.search("interval run", limit=2)), 2)
        everything = storage.search("interval run", limit=10)
        self.assertEqual(len(everything), 4)
        self.assertEqual(storage.search("interval run", limit=10, score_threshold=max(r["score"] for r in everything) + 1), [])

    def test_searches_only_this_agents_memories_of_this_person(self) -> None:
        user = person()
        mine = AurenMemoryStorage("recovery_agent", user, client=client)
        mine.save("Soreness after squats", {})
        AurenMemoryStorage("training_agent", user, client=client).save("Soreness after squats", {})
        AurenMemoryStorage("recovery_agent", person(), client=client).save("Soreness after squats", {})
        results = mine.search("soreness", limit=10)
        self.assertEqual(len(results), 1)
        self.assertEqual(client.get_memory(results[0]["id"]).agent_id, "recovery_agent")

    def test_the_person_can_come_with_each_call(self) -> None:
        storage = AurenMemoryStorage("sleep_agent", client=client)
        user = person()
        memory_id = storage.save("Naps at 14:00", {"user_id": user})
        self.assertEqual(client.get_memory(memory_id).user_id, user)
        self.assertEqual([r["id"] for r in storage.search("naps", filter={"user_id": user})], [memory_id])
        with self.assertRaisesRegex(ValueError, "user_id"):
            storage.save("Naps at 14:00", {})


class Reset(unittest.TestCase):
    def test_deletes_softly_this_agents_memories_of_this_person_only_and_leaves_a_record(self) -> None:
        user = person()
        storage = AurenMemoryStorage("mental_health_agent", user, client=client)
        ids = [storage.save(f"Journal entry {i} mentions anxiety", {}) for i in range(3)]
        other_agent = AurenMemoryStorage("sleep_agent", user, client=client).save("Anxiety before sleep", {})
        other_person = AurenMemoryStorage("mental_health_agent", person(), client=client).save("Anxiety at work", {})

        self.assertEqual(storage.reset(), 3)

        self.assertEqual(storage.search("anxiety", limit=10), [])
        self.assertEqual(storage.reset(), 0)
        for memory_id in ids:
            with self.assertRaises(NotFound):
                client.get_memory(memory_id)
            history = client.memory_history(memory_id).events
            self.assertEqual([e.type for e in history], ["memory_created", "memory_deleted"])
            self.assertEqual(history[-1].data.get("reason"), "storage reset by mental_health_agent", history[-1])
        self.assertFalse(client.get_memory(other_agent).deleted)
        self.assertFalse(client.get_memory(other_person).deleted)
        trail = client.audit_trail(user, page_size=1000).events
        self.assertEqual(sum(e.type == "memory_deleted" for e in trail), 3)

    def test_refuses_without_a_person(self) -> None:
        with self.assertRaisesRegex(ValueError, "user_id"):
            AurenMemoryStorage("sleep_agent", client=client).reset()


if __name__ == "__main__":
    unittest.main()
