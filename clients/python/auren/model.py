"""The values the client hands back: plain dataclasses built from the generated messages.

Content, metadata and event data are JSON objects (dicts); their numbers come back as floats,
as google.protobuf.Struct carries them. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Union

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from auren.v1 import events_pb2, memory_pb2

JsonObject = Dict[str, Any]


class MemoryType(str, enum.Enum):
    """What kind of thing an agent remembers (auren.v1.MemoryType)."""

    FACT = "fact"
    ANALYSIS = "analysis"
    RECOMMENDATION = "recommendation"
    HYPOTHESIS = "hypothesis"
    INSIGHT = "insight"
    CONVERSATION = "conversation"
    DECISION = "decision"

    def to_pb(self) -> int:
        return memory_pb2.MemoryType.Value(f"MEMORY_TYPE_{self.name}")

    @classmethod
    def from_pb(cls, value: int) -> Optional["MemoryType"]:
        name = memory_pb2.MemoryType.Name(value)
        return None if name == "MEMORY_TYPE_UNSPECIFIED" else cls[name[len("MEMORY_TYPE_") :]]


MemoryTypeLike = Union[MemoryType, str]


def memory_type(value: MemoryTypeLike) -> MemoryType:
    """A MemoryType from itself or its name ("fact", "FACT")."""
    if isinstance(value, MemoryType):
        return value
    try:
        return MemoryType(str(value).lower())
    except ValueError:
        names = ", ".join(t.value for t in MemoryType)
        raise ValueError(f"unknown memory type {value!r}: one of {names}") from None


@dataclass(frozen=True, order=True)
class Position:
    """A place in the whole log; an opaque, ordered resume token."""

    commit: int
    prepare: int

    def to_pb(self) -> events_pb2.Position:
        return events_pb2.Position(commit=self.commit, prepare=self.prepare)

    @classmethod
    def from_pb(cls, message: events_pb2.Position) -> "Position":
        return cls(commit=message.commit, prepare=message.prepare)


@dataclass(frozen=True)
class Event:
    """One committed event."""

    event_id: str
    stream_id: str
    version: int
    type: str
    data: JsonObject
    metadata: JsonObject
    correlation_id: str
    causation_id: str
    position: Position
    created_at: Optional[datetime]

    @classmethod
    def from_pb(cls, message: events_pb2.Event) -> "Event":
        return cls(
            event_id=message.event_id,
            stream_id=message.stream_id,
            version=message.version,
            type=message.type,
            data=struct_to_dict(message.data),
            metadata=struct_to_dict(message.metadata),
            correlation_id=message.correlation_id,
            causation_id=message.causation_id,
            position=Position.from_pb(message.position),
            created_at=time_of(message, "created_at"),
        )


@dataclass(frozen=True)
class ProposedEvent:
    """An event to append; event_id (a UUID) makes the append idempotent."""

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    event_id: str = ""
    correlation_id: str = ""
    causation_id: str = ""

    def to_pb(self) -> events_pb2.ProposedEvent:
        return events_pb2.ProposedEvent(
            event_id=self.event_id,
            type=self.type,
            data=dict_to_struct(self.data),
            metadata=dict_to_struct(self.metadata),
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
        )


@dataclass(frozen=True)
class AppendResult:
    """A committed append: the stream's version after it and where its events are in the log."""

    next_expected_version: int
    first_position: Position
    last_position: Position


@dataclass(frozen=True)
class StreamSlice:
    """Events read from one stream, the stream's version and whether the read reached its end."""

    events: List[Event]
    stream_version: int
    end_of_stream: bool


@dataclass(frozen=True)
class LogSlice:
    """A page of the whole log and where to continue reading."""

    events: List[Event]
    next_position: Position
    end_of_log: bool


@dataclass(frozen=True)
class StreamInfo:
    """Whether a stream exists, its version and when it was created and last written."""

    exists: bool
    version: int
    created_at: Optional[datetime]
    updated_at: Optional[datetime]


@dataclass(frozen=True)
class Memory:
    """One thing an agent knows about a person."""

    id: str
    agent_id: str
    user_id: str
    type: Optional[MemoryType]
    content: JsonObject
    metadata: JsonObject
    confidence: float
    created_at: Optional[datetime]
    updated_at: Optional[datetime]
    expires_at: Optional[datetime]
    version: int
    deleted: bool
    expired: bool

    @classmethod
    def from_pb(cls, message: memory_pb2.Memory) -> "Memory":
        return cls(
            id=message.id,
            agent_id=message.agent_id,
            user_id=message.user_id,
            type=MemoryType.from_pb(message.type),
            content=struct_to_dict(message.content),
            metadata=struct_to_dict(message.metadata),
            confidence=message.confidence,
            created_at=time_of(message, "created_at"),
            updated_at=time_of(message, "updated_at"),
            expires_at=time_of(message, "expires_at"),
            version=message.version,
            deleted=message.deleted,
            expired=message.expired,
        )


@dataclass(frozen=True)
class SearchResult:
    """One match of a search and its score (higher is better)."""

    memory: Memory
    score: float


@dataclass(frozen=True)
class MemoryPage:
    """One page of memories; next_page_token is empty on the last page."""

    memories: List[Memory]
    next_page_token: str


@dataclass(frozen=True)
class EventPage:
    """One page of events (a memory's history, a person's audit trail)."""

    events: List[Event]
    next_page_token: str


@dataclass(frozen=True)
class MemoryStats:
    """An agent's live memories counted by type."""

    count_by_type: Dict[str, int]
    total: int
    average_confidence: float
    last_created_at: Optional[datetime]


def struct_to_dict(message: struct_pb2.Struct) -> JsonObject:
    return json_format.MessageToDict(message)


def dict_to_struct(value: Optional[Mapping[str, Any]]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    if value:
        struct.update(dict(value))
    return struct


def time_of(message: Any, name: str) -> Optional[datetime]:
    if not message.HasField(name):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, name)
    return datetime.fromtimestamp(stamp.seconds, tz=timezone.utc).replace(microsecond=stamp.nanos // 1000)


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    if value.tzinfo is None:
        raise ValueError("a time must carry its time zone (e.g. datetime.now(timezone.utc))")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.astimezone(timezone.utc).replace(tzinfo=None))
    return stamp
