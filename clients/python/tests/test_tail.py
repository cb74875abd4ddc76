"""tail(): a tail of the whole log that survives a server restart mid-stream and hands its
consumer every event exactly once, in log order."""

import asyncio
import threading
import time
import unittest
import uuid
from typing import List

from auren import AsyncAurenClient, AurenClient, AurenError, Event, ProposedEvent
from tests.server import ServerOnItsOwnDatabase, shared_server

service: ServerOnItsOwnDatabase


def setUpModule() -> None:
    global service
    service = shared_server()


class Writer(threading.Thread):
    """Appends `count` events one by one to streams under `prefix`; an append that fails (the
    server is restarting) is retried with the same event id, so it is written once."""

    def __init__(self, client: AurenClient, prefix: str, count: int) -> None:
        super().__init__(daemon=True)
        self.client, self.prefix, self.count = client, prefix, count
        self.event_ids: List[str] = []
        self.retries = 0
        self.error: BaseException = None  # type: ignore[assignment]

    def run(self) -> None:
        try:
            for i in range(self.count):
                event = ProposedEvent("reading_taken", {"i": i}, event_id=str(uuid.uuid4()))
                while True:
                    try:
                        self.client.append(f"{self.prefix}{i % 3}", [event])
                        break
                    except AurenError:
                        self.retries += 1
                        time.sleep(0.05)
                self.event_ids.append(event.event_id)
                time.sleep(0.01)
        except BaseException as error:  # noqa: B902 - reported by the test
            self.error = error


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class TailAcrossARestart(unittest.TestCase):
    def test_a_tail_resumes_after_a_restart_and_sees_every_event_once(self) -> None:
        prefix = f"tail-{uuid.uuid4().hex[:8]}-"
        client = AurenClient(service.target, api_key=service.api_key, agent="tail_test", timeout=20)
        writer = Writer(client, prefix, 60)
        seen: List[Event] = []
        with client.tail(stream_id_prefixes=[prefix], checkpoint_interval=10) as tail:
            reader = threading.Thread(target=lambda: seen.extend(tail), daemon=True)
            reader.start()
            writer.start()
            wait_until(lambda: len(seen) >= 15, 30, "the first events")
            written_before_restart = len(writer.event_ids)
            service.restart()  # SIGTERM mid-stream; a new server on the same database and port
            writer.join(60)
            self.assertIsNone(writer.error)
            wait_until(lambda: len(seen) >= 60, 30, f"every event (saw {len(seen)})")
            time.sleep(0.3)  # nothing more may come
        reader.join(10)
        self.assertFalse(reader.is_alive(), "close() ends the iteration")

        self.assertLess(written_before_restart, 60, "the restart came mid-stream")
        self.assertGreaterEqual(tail.reconnects, 1)
        self.assertEqual([e.event_id for e in seen], writer.event_ids)
        self.assertEqual([e.data["i"] for e in seen], list(range(60)))
        positions = [e.position for e in seen]
        self.assertEqual(positions, sorted(set(positions)))
        # What the log holds is what the tail handed over, no more.
        logged = client.read_all(stream_id_prefixes=[prefix], limit=1000).events
        self.assertEqual([e.event_id for e in logged], writer.event_ids)
        client.close()

    def test_a_tail_from_a_position_goes_on_after_it(self) -> None:
        prefix = f"tail-{uuid.uuid4().hex[:8]}-"
        client = AurenClient(service.target, api_key=service.api_key, agent="tail_test")
        for i in range(5):
            client.append(f"{prefix}a", [ProposedEvent("step", {"i": i})])
        with client.tail(stream_id_prefixes=[prefix]) as tail:
            first = [next(tail) for _ in range(2)]
        with client.tail(after=tail.position, stream_id_prefixes=[prefix]) as rest:
            following = [next(rest) for _ in range(3)]
        self.assertEqual([e.data["i"] for e in first + following], [0, 1, 2, 3, 4])
        client.close()


class AsyncTailAcrossARestart(unittest.TestCase):
    def test_an_async_tail_resumes_after_a_restart(self) -> None:
        prefix = f"atail-{uuid.uuid4().hex[:8]}-"

        async def scenario() -> List[Event]:
            client = AsyncAurenClient(service.target, api_key=service.api_key, agent="tail_test", timeout=20)
            for i in range(3):
                await client.append(f"{prefix}a", [ProposedEvent("step", {"i": i})])
            tail = client.tail(stream_id_prefixes=[prefix])
            seen = [await tail.__anext__() for _ in range(3)]
            await asyncio.get_running_loop().run_in_executor(None, service.restart)
            for i in range(3, 6):
                await client.append(f"{prefix}a", [ProposedEvent("step", {"i": i})])
            seen += [await asyncio.wait_for(tail.__anext__(), 30) for _ in range(3)]
            self.assertGreaterEqual(tail.reconnects, 1)
            # close() ends an iteration that waits for the next event.
            waiting = asyncio.ensure_future(tail.__anext__())
            await asyncio.sleep(0.2)
            tail.close()
            with self.assertRaises(StopAsyncIteration):
                await asyncio.wait_for(waiting, 5)
            await client.close()
            return seen

        seen = asyncio.run(scenario())
        self.assertEqual([e.data["i"] for e in seen], [0, 1, 2, 3, 4, 5])
        self.assertEqual(len({e.event_id for e in seen}), 6)


if __name__ == "__main__":
    unittest.main()
