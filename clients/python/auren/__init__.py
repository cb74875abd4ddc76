"""Python client of the AUREN data plane: AurenClient (blocking), AsyncAurenClient (grpc.aio),
AurenMemoryStorage (CrewAI's storage methods), over the stubs generated from proto/ in auren.v1."""

from auren.aio import AsyncAurenClient
from auren.client import AurenClient
from auren.collaboration import BiometricReading, ConversationTurn, Handoff, Hypothesis, Knowledge, Page, SharedContext, UserProfile
from auren.crewai import AurenMemoryStorage
from auren.errors import (
    Aborted,
    AlreadyExists,
    AurenError,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from auren.model import (
    AppendResult,
    Event,
    EventPage,
    LogSlice,
    Memory,
    MemoryPage,
    MemoryStats,
    MemoryType,
    Position,
    ProposedEvent,
    SearchResult,
    StreamInfo,
    StreamSlice,
)
from auren.tail import AsyncTail, Tail

__version__ = "0.1.0"

__all__ = [
    "BiometricReading",
    "ConversationTurn",
    "Handoff",
    "Hypothesis",
    "Knowledge",
    "Page",
    "SharedContext",
    "UserProfile",
    "Aborted",
    "AlreadyExists",
    "AppendResult",
    "AsyncAurenClient",
    "AsyncTail",
    "AurenClient",
    "AurenError",
    "AurenMemoryStorage",
    "Cancelled",
    "DeadlineExceeded",
    "Event",
    "EventPage",
    "FailedPrecondition",
    "FieldViolation",
    "InvalidArgument",
    "LogSlice",
    "Memory",
    "MemoryPage",
    "MemoryStats",
    "MemoryType",
    "NotFound",
    "PermissionDenied",
    "Position",
    "ProposedEvent",
    "ResourceExhausted",
    "SearchResult",
    "StreamInfo",
    "StreamSlice",
    "Tail",
    "Unauthenticated",
    "Unavailable",
]
