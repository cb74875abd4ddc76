"""What each call sends, shared by AurenClient and AsyncAurenClient: the request messages,
the caller's metadata and the channel options."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from auren.model import (
    MemoryTypeLike,
    Position,
    ProposedEvent,
    dict_to_struct,
    memory_type,
    timestamp,
)
from auren.v1 import events_pb2, memory_pb2

CALLER_HEADER = "x-auren-agent"

Metadata = Tuple[Tuple[str, str], ...]


@dataclass(frozen=True)
class Caller:
    """Who calls: the agent named in `x-auren-agent` and, when given, an API key sent as
    `authorization: Bearer <key>`."""

    agent: Optional[str] = None
    api_key: Optional[str] = None

    def metadata(self) -> Metadata:
        pairs: List[Tuple[str, str]] = []
        if self.agent:
            pairs.append((CALLER_HEADER, self.agent))
        if self.api_key:
            pairs.append(("authorization", f"Bearer {self.api_key}"))
        return tuple(pairs)


def channel_options(extra: Optional[Sequence[Tuple[str, Any]]] = None) -> List[Tuple[str, Any]]:
    """grpcio's channel options: reconnect within seconds of a restarted server (grpcio's own
    backoff grows to two minutes), keepalive so a dead connection is noticed, then the caller's."""
    options: List[Tuple[str, Any]] = [
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.min_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2000),
        ("grpc.keepalive_time_ms", 30000),
        ("grpc.keepalive_timeout_ms", 10000),
    ]
    return options + list(extra or [])


def types_of(types: Optional[Iterable[MemoryTypeLike]]) -> List[int]:
    return [memory_type(t).to_pb() for t in types or ()]


def store_memory(
    agent_id: str,
    user_id: str,
    type: MemoryTypeLike,
    content: Mapping[str, Any],
    metadata: Optional[Mapping[str, Any]],
    confidence: Optional[float],
    expires_at: Optional[datetime],
) -> memory_pb2.StoreMemoryRequest:
    request = memory_pb2.StoreMemoryRequest(
        agent_id=agent_id,
        user_id=user_id,
        type=memory_type(type).to_pb(),
        content=dict_to_struct(content),
        metadata=dict_to_struct(metadata),
    )
    if confidence is not None:
        request.confidence = confidence
    if expires_at is not None:
        request.expires_at.CopyFrom(timestamp(expires_at))
    return request


def list_memories(
    agent_id: str,
    user_id: str,
    types: Optional[Iterable[MemoryTypeLike]],
    min_confidence: float,
    include_expired: bool,
    page_size: int,
    page_token: str,
) -> memory_pb2.ListMemoriesRequest:
    return memory_pb2.ListMemoriesRequest(
        agent_id=agent_id,
        user_id=user_id,
        types=types_of(types),
        min_confidence=min_confidence,
        include_expired=include_expired,
        page_size=page_size,
        page_token=page_token,
    )


def update_memory(
    id: str,
    content: Optional[Mapping[str, Any]],
    metadata: Optional[Mapping[str, Any]],
    confidence: Optional[float],
    expected_version: Optional[int],
) -> memory_pb2.UpdateMemoryRequest:
    request = memory_pb2.UpdateMemoryRequest(id=id)
    if content is not None:
        request.content.CopyFrom(dict_to_struct(content))
    if metadata is not None:
        request.metadata.CopyFrom(dict_to_struct(metadata))
    if confidence is not None:
        request.confidence = confidence
    if expected_version is not None:
        request.expected_version = expected_version
    return request


SEARCH_MODES = {
    "full_text": memory_pb2.SEARCH_MODE_FULL_TEXT,
    "semantic": memory_pb2.SEARCH_MODE_SEMANTIC,
    "hybrid": memory_pb2.SEARCH_MODE_HYBRID,
}


def search_memories(
    query: str,
    agent_id: str,
    user_id: str,
    types: Optional[Iterable[MemoryTypeLike]],
    mode: str,
    limit: int,
    min_confidence: float,
    include_expired: bool,
) -> memory_pb2.SearchMemoriesRequest:
    if mode not in SEARCH_MODES:
        raise ValueError(f"unknown search mode {mode!r}: one of {', '.join(SEARCH_MODES)}")
    return memory_pb2.SearchMemoriesRequest(
        query=query,
        agent_id=agent_id,
        user_id=user_id,
        types=types_of(types),
        mode=SEARCH_MODES[mode],
        limit=limit,
        min_confidence=min_confidence,
        include_expired=include_expired,
    )


def audit_trail(
    user_id: str, since: Optional[datetime], until: Optional[datetime], page_size: int, page_token: str
) -> memory_pb2.ListAuditTrailRequest:
    request = memory_pb2.ListAuditTrailRequest(user_id=user_id, page_size=page_size, page_token=page_token)
    if since is not None:
        getattr(request, "from").CopyFrom(timestamp(since))
    if until is not None:
        request.to.CopyFrom(timestamp(until))
    return request


# Expected versions of an append: "any", "no_stream", "stream_exists", or an exact version.
ExpectedVersion = Union[str, int]

_EXPECTED_USAGE = "expected must be 'any', 'no_stream', 'stream_exists' or a version, not {!r}"

_EXPECTED_KINDS = {
    "any": events_pb2.EXPECTED_VERSION_KIND_ANY,
    "no_stream": events_pb2.EXPECTED_VERSION_KIND_NO_STREAM,
    "stream_exists": events_pb2.EXPECTED_VERSION_KIND_STREAM_EXISTS,
}


def append_to_stream(
    stream_id: str, events: Sequence[ProposedEvent], expected: ExpectedVersion
) -> events_pb2.AppendToStreamRequest:
    if isinstance(expected, bool) or not isinstance(expected, (str, int)):
        raise ValueError(_EXPECTED_USAGE.format(expected))
    if isinstance(expected, int):
        check = events_pb2.ExpectedVersion(kind=events_pb2.EXPECTED_VERSION_KIND_EXACT, version=expected)
    elif expected in _EXPECTED_KINDS:
        check = events_pb2.ExpectedVersion(kind=_EXPECTED_KINDS[expected])
    else:
        raise ValueError(_EXPECTED_USAGE.format(expected))
    return events_pb2.AppendToStreamRequest(
        stream_id=stream_id, expected=check, events=[e.to_pb() for e in events]
    )


def read_stream(
    stream_id: str, from_version: int, backwards: bool, limit: int
) -> events_pb2.ReadStreamRequest:
    direction = events_pb2.READ_DIRECTION_BACKWARDS if backwards else events_pb2.READ_DIRECTION_FORWARDS
    return events_pb2.ReadStreamRequest(
        stream_id=stream_id, from_version=from_version, direction=direction, limit=limit
    )


def event_filter(
    event_types: Optional[Iterable[str]], stream_id_prefixes: Optional[Iterable[str]]
) -> events_pb2.EventFilter:
    return events_pb2.EventFilter(
        event_types=list(event_types or ()), stream_id_prefixes=list(stream_id_prefixes or ())
    )


def read_all(
    from_position: Optional[Position],
    limit: int,
    event_types: Optional[Iterable[str]],
    stream_id_prefixes: Optional[Iterable[str]],
) -> events_pb2.ReadAllRequest:
    request = events_pb2.ReadAllRequest(limit=limit, filter=event_filter(event_types, stream_id_prefixes))
    if from_position is not None:
        request.from_position.CopyFrom(from_position.to_pb())
    return request


# Where a tail starts: "start" (the first event), "end" (only new events), or after a Position.
TailStart = Union[str, Position]


def subscribe_to_all(
    after: TailStart,
    event_types: Optional[Iterable[str]],
    stream_id_prefixes: Optional[Iterable[str]],
    checkpoint_interval: int,
) -> events_pb2.SubscribeToAllRequest:
    request = events_pb2.SubscribeToAllRequest(
        filter=event_filter(event_types, stream_id_prefixes), checkpoint_interval=checkpoint_interval
    )
    if isinstance(after, Position):
        request.position.CopyFrom(after.to_pb())
    elif after == "start":
        request.start.SetInParent()
    elif after == "end":
        request.end.SetInParent()
    else:
        raise ValueError(f"a tail starts at 'start', 'end' or after a Position, not {after!r}")
    return request
