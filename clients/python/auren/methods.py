"""The service's calls, written once for AurenClient (grpcio) and AsyncAurenClient (grpc.aio):
each builds its request, and `_call` (blocking or awaitable) sends it and reads the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, TypeVar

from auren import calls
from auren.collaboration import CollaborationMethods
from auren.calls import Caller, ExpectedVersion, Metadata
from auren.model import (
    AppendResult,
    Event,
    EventPage,
    LogSlice,
    Memory,
    MemoryPage,
    MemoryStats,
    MemoryTypeLike,
    Position,
    ProposedEvent,
    SearchResult,
    StreamInfo,
    StreamSlice,
    time_of,
)
from auren.v1 import events_pb2, events_pb2_grpc, memory_pb2, memory_pb2_grpc

T = TypeVar("T")


class ServiceMethods(CollaborationMethods):
    """Every unary call of EventStoreService and MemoryService (the collaboration calls in
    auren.collaboration). On AsyncAurenClient each returns an awaitable of what is annotated here."""

    _caller: Caller
    _events: events_pb2_grpc.EventStoreServiceStub
    _memory: memory_pb2_grpc.MemoryServiceStub

    def _call(self, method: Any, request: Any, answer: Callable[[Any], T]) -> T:
        raise NotImplementedError

    @property
    def agent(self) -> Optional[str]:
        """The agent this client calls as (the `x-auren-agent` header)."""
        return self._caller.agent

    _timeout: Optional[float]
    _wait_for_ready: bool

    def _metadata(self) -> Metadata:
        return self._caller.metadata()

    def _call_options(self) -> Dict[str, Any]:
        return {"metadata": self._metadata(), "timeout": self._timeout, "wait_for_ready": self._wait_for_ready}

    def _agent_or(self, agent_id: Optional[str]) -> str:
        return agent_id if agent_id is not None else (self._caller.agent or "")

    # Memories ---------------------------------------------------------------------------

    def store_memory(
        self,
        user_id: str,
        type: MemoryTypeLike,
        content: Mapping[str, Any],
        *,
        agent_id: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        confidence: Optional[float] = None,
        expires_at: Optional[datetime] = None,
    ) -> Memory:
        """Stores a memory about a person (event memory_created); agent_id defaults to the caller."""
        request = calls.store_memory(
            self._agent_or(agent_id), user_id, type, content, metadata, confidence, expires_at
        )
        return self._call(self._memory.StoreMemory, request, lambda r: Memory.from_pb(r.memory))

    def get_memory(self, id: str, *, include_expired: bool = False) -> Memory:
        """One memory. Audited (memory_retrieved)."""
        request = memory_pb2.GetMemoryRequest(id=id, include_expired=include_expired)
        return self._call(self._memory.GetMemory, request, lambda r: Memory.from_pb(r.memory))

    def list_memories(
        self,
        *,
        agent_id: str = "",
        user_id: str = "",
        types: Optional[Iterable[MemoryTypeLike]] = None,
        min_confidence: float = 0.0,
        include_expired: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> MemoryPage:
        """One page of memories, newest first. Audited."""
        request = calls.list_memories(
            agent_id, user_id, types, min_confidence, include_expired, page_size, page_token
        )
        return self._call(
            self._memory.ListMemories,
            request,
            lambda r: MemoryPage([Memory.from_pb(m) for m in r.memories], r.next_page_token),
        )

    def update_memory(
        self,
        id: str,
        *,
        content: Optional[Mapping[str, Any]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        confidence: Optional[float] = None,
        expected_version: Optional[int] = None,
    ) -> Memory:
        """Changes a memory (event memory_updated); ABORTED unless at expected_version when given."""
        request = calls.update_memory(id, content, metadata, confidence, expected_version)
        return self._call(self._memory.UpdateMemory, request, lambda r: Memory.from_pb(r.memory))

    def delete_memory(self, id: str, *, reason: str = "") -> Memory:
        """Deletes a memory softly (event memory_deleted): it stays in the log."""
        request = memory_pb2.DeleteMemoryRequest(id=id, reason=reason)
        return self._call(self._memory.DeleteMemory, request, lambda r: Memory.from_pb(r.memory))

    def search_memories(
        self,
        query: str,
        *,
        agent_id: str = "",
        user_id: str = "",
        types: Optional[Iterable[MemoryTypeLike]] = None,
        mode: str = "full_text",
        limit: int = 0,
        min_confidence: float = 0.0,
        include_expired: bool = False,
    ) -> List[SearchResult]:
        """Memories matching a text, best first (mode "full_text"; "semantic" and "hybrid" once
        the service has them). Audited."""
        request = calls.search_memories(
            query, agent_id, user_id, types, mode, limit, min_confidence, include_expired
        )
        return self._call(
            self._memory.SearchMemories,
            request,
            lambda r: [SearchResult(Memory.from_pb(x.memory), x.score) for x in r.results],
        )

    def memory_history(self, id: str, *, page_size: int = 0, page_token: str = "") -> EventPage:
        """The events of one memory, oldest first, a page at a time. Audited."""
        request = memory_pb2.GetMemoryHistoryRequest(id=id, page_size=page_size, page_token=page_token)
        return self._call(self._memory.GetMemoryHistory, request, _event_page)

    def memory_stats(self, agent_id: Optional[str] = None) -> MemoryStats:
        """An agent's live memories counted by type (the caller's by default)."""
        request = memory_pb2.GetMemoryStatsRequest(agent_id=self._agent_or(agent_id))
        return self._call(
            self._memory.GetMemoryStats,
            request,
            lambda r: MemoryStats(
                dict(r.count_by_type), r.total, r.average_confidence, time_of(r, "last_created_at")
            ),
        )

    def audit_trail(
        self,
        user_id: str,
        *,
        since: Optional[datetime] = None,
        until: Optional[datetime] = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> EventPage:
        """Every event that touched one person, writes and reads, in log order: a page."""
        request = calls.audit_trail(user_id, since, until, page_size, page_token)
        return self._call(self._memory.ListAuditTrail, request, _event_page)

    # Events -----------------------------------------------------------------------------

    def append(
        self, stream_id: str, events: Sequence[ProposedEvent], *, expected: ExpectedVersion = "any"
    ) -> AppendResult:
        """Appends events to a stream atomically; expected is "any", "no_stream",
        "stream_exists" or the exact version (ABORTED otherwise)."""
        request = calls.append_to_stream(stream_id, events, expected)
        return self._call(
            self._events.AppendToStream,
            request,
            lambda r: AppendResult(
                r.next_expected_version, Position.from_pb(r.first_position), Position.from_pb(r.last_position)
            ),
        )

    def read_stream(
        self, stream_id: str, *, from_version: int = 0, backwards: bool = False, limit: int = 0
    ) -> StreamSlice:
        """A stream's events by version, forwards or backwards."""
        request = calls.read_stream(stream_id, from_version, backwards, limit)
        return self._call(
            self._events.ReadStream,
            request,
            lambda r: StreamSlice([Event.from_pb(e) for e in r.events], r.stream_version, r.end_of_stream),
        )

    def read_all(
        self,
        *,
        from_position: Optional[Position] = None,
        limit: int = 0,
        event_types: Optional[Iterable[str]] = None,
        stream_id_prefixes: Optional[Iterable[str]] = None,
    ) -> LogSlice:
        """A page of the whole log from a position (inclusive); go on from next_position."""
        request = calls.read_all(from_position, limit, event_types, stream_id_prefixes)
        return self._call(
            self._events.ReadAll,
            request,
            lambda r: LogSlice(
                [Event.from_pb(e) for e in r.events], Position.from_pb(r.next_position), r.end_of_log
            ),
        )

    def stream_info(self, stream_id: str) -> StreamInfo:
        """Whether a stream exists, and its version."""
        request = events_pb2.GetStreamInfoRequest(stream_id=stream_id)
        return self._call(
            self._events.GetStreamInfo,
            request,
            lambda r: StreamInfo(r.exists, r.version, time_of(r, "created_at"), time_of(r, "updated_at")),
        )

    def get_event(self, event_id: str) -> Event:
        """One event by its id."""
        request = events_pb2.GetEventRequest(event_id=event_id)
        return self._call(self._events.GetEvent, request, lambda r: Event.from_pb(r.event))


def _event_page(response: Any) -> EventPage:
    return EventPage([Event.from_pb(e) for e in response.events], response.next_page_token)
