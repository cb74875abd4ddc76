"""Refusals arrive as AurenError subclasses carrying the status code, the message and the
google.rpc details (ErrorInfo reason and facts, BadRequest field), on both clients."""

import asyncio
import unittest
import uuid

import grpc
from google.protobuf import struct_pb2

from auren import (
    Aborted,
    AsyncAurenClient,
    AurenClient,
    AurenError,
    InvalidArgument,
    NotFound,
    ProposedEvent,
)
from auren.calls import Caller
from auren.errors import STATUS_DETAILS_KEY, error_of
from auren.google.rpc import error_details_pb2, status_pb2
from tests.server import ServerOnItsOwnDatabase, shared_server

service: ServerOnItsOwnDatabase
client: AurenClient


def setUpModule() -> None:
    global service, client
    service = shared_server()
    client = AurenClient(service.target, api_key=service.api_key, agent="error_test")


def tearDownModule() -> None:
    client.close()


class RefusalsFromTheServer(unittest.TestCase):
    def test_a_bad_field_is_invalid_argument_naming_the_field(self) -> None:
        user = f"user_{uuid.uuid4().hex[:8]}"
        with self.assertRaises(InvalidArgument) as caught:
            client.store_memory(user, "fact", {"text": "x"}, confidence=1.5)
        error = caught.exception
        self.assertEqual(error.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(error.field, "confidence")
        self.assertEqual(error.reason, "INVALID_ARGUMENT")
        self.assertEqual(error.domain, "auren.v1")
        self.assertEqual(error.metadata, {"field": "confidence"})
        self.assertIn("expects a number from 0 to 1", error.field_violations[0].description)
        self.assertIn("confidence", error.message)
        self.assertEqual(client.list_memories(user_id=user).memories, [], "nothing written")

    def test_an_unknown_memory_is_not_found_with_its_id(self) -> None:
        missing = str(uuid.uuid4())
        with self.assertRaises(NotFound) as caught:
            client.get_memory(missing)
        self.assertEqual(caught.exception.reason, "MEMORY_NOT_FOUND")
        self.assertEqual(caught.exception.metadata, {"memory_id": missing})
        self.assertIsNone(caught.exception.field)

    def test_a_stale_expected_version_is_aborted_with_the_actual_version(self) -> None:
        stream = f"errors-{uuid.uuid4().hex[:8]}"
        client.append(stream, [ProposedEvent("one"), ProposedEvent("two")])
        with self.assertRaises(Aborted) as caught:
            client.append(stream, [ProposedEvent("three")], expected=1)
        self.assertEqual(caught.exception.reason, "WRONG_EXPECTED_VERSION")
        self.assertEqual(caught.exception.metadata["actual_version"], "2")
        self.assertEqual(client.stream_info(stream).version, 2)

    def test_a_stale_memory_update_is_aborted(self) -> None:
        memory = client.store_memory("user_2", "fact", {"text": "resting HR 60"})
        client.update_memory(memory.id, confidence=0.5, expected_version=1)
        with self.assertRaises(Aborted):
            client.update_memory(memory.id, confidence=0.4, expected_version=1)
        self.assertAlmostEqual(client.get_memory(memory.id).confidence, 0.5)

    def test_the_async_client_raises_the_same(self) -> None:
        async def refused() -> AurenError:
            async with AsyncAurenClient(service.target, api_key=service.api_key, agent="error_test") as aclient:
                try:
                    await aclient.get_memory("not-a-uuid")
                except AurenError as error:
                    return error
            raise AssertionError("not refused")

        error = asyncio.run(refused())
        self.assertIsInstance(error, InvalidArgument)
        self.assertEqual((error.field, error.reason), ("id", "INVALID_ARGUMENT"))
        self.assertIn("expects a memory id", error.field_violations[0].description)

    def test_an_unknown_memory_type_is_refused_before_sending(self) -> None:
        with self.assertRaisesRegex(ValueError, "unknown memory type 'mood'"):
            client.store_memory("user_1", "mood", {"text": "x"})


class DecodingDetails(unittest.TestCase):
    def test_reads_error_info_and_bad_request_from_the_trailer(self) -> None:
        status = status_pb2.Status(code=3, message="user_id: is required")
        status.details.add().Pack(error_details_pb2.ErrorInfo(reason="INVALID_ARGUMENT", domain="auren.v1", metadata={"field": "user_id"}))
        violation = error_details_pb2.BadRequest.FieldViolation(field="user_id", description="is required")
        status.details.add().Pack(error_details_pb2.BadRequest(field_violations=[violation]))
        status.details.add().Pack(struct_pb2.Struct())  # not one we read: ignored
        error = error_of(grpc.StatusCode.INVALID_ARGUMENT, "", [("other", "x"), (STATUS_DETAILS_KEY, status.SerializeToString())])
        self.assertIsInstance(error, InvalidArgument)
        self.assertEqual((error.message, error.reason, error.field), ("user_id: is required", "INVALID_ARGUMENT", "user_id"))

    def test_a_status_without_details_keeps_its_code_and_message(self) -> None:
        error = error_of(grpc.StatusCode.UNAVAILABLE, "connection refused", None)
        self.assertEqual((error.code, error.message, error.reason, error.field), (grpc.StatusCode.UNAVAILABLE, "connection refused", "", None))


class CallerHeaders(unittest.TestCase):
    def test_names_the_agent_and_sends_the_api_key_as_a_bearer_token(self) -> None:
        self.assertEqual(
            Caller("nutritionist", "k-123").metadata(),
            (("x-auren-agent", "nutritionist"), ("authorization", "Bearer k-123")),
        )
        self.assertEqual(Caller().metadata(), ())

    def test_the_server_records_the_keys_agent_as_the_reader(self) -> None:
        user = f"user_{uuid.uuid4().hex[:8]}"
        memory = client.store_memory(user, "fact", {"text": "likes rowing"})
        AurenClient(service.target, api_key=service.agent_key("coach_x")).get_memory(memory.id)
        reads = [e for e in client.audit_trail(user).events if e.type == "memory_retrieved"]
        self.assertEqual([e.data["caller"] for e in reads], ["coach_x"])


if __name__ == "__main__":
    unittest.main()
