from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
EXPECTED_VERSION_KIND_ANY: ExpectedVersionKind
EXPECTED_VERSION_KIND_EXACT: ExpectedVersionKind
EXPECTED_VERSION_KIND_NO_STREAM: ExpectedVersionKind
EXPECTED_VERSION_KIND_STREAM_EXISTS: ExpectedVersionKind
EXPECTED_VERSION_KIND_UNSPECIFIED: ExpectedVersionKind
READ_DIRECTION_BACKWARDS: ReadDirection
READ_DIRECTION_FORWARDS: ReadDirection
READ_DIRECTION_UNSPECIFIED: ReadDirection

class AppendToStreamRequest(_message.Message):
    __slots__ = ["events", "expected", "stream_id"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ProposedEvent]
    expected: ExpectedVersion
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ..., expected: _Optional[_Union[ExpectedVersion, _Mapping]] = ..., events: _Optional[_Iterable[_Union[ProposedEvent, _Mapping]]] = ...) -> None: ...

class AppendToStreamResponse(_message.Message):
    __slots__ = ["first_position", "last_position", "next_expected_version"]
    FIRST_POSITION_FIELD_NUMBER: _ClassVar[int]
    LAST_POSITION_FIELD_NUMBER: _ClassVar[int]
    NEXT_EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    first_position: Position
    last_position: Position
    next_expected_version: int
    def __init__(self, next_expected_version: _Optional[int] = ..., first_position: _Optional[_Union[Position, _Mapping]] = ..., last_position: _Optional[_Union[Position, _Mapping]] = ...) -> None: ...

class CaughtUp(_message.Message):
    __slots__ = ["position", "version"]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    position: Position
    version: int
    def __init__(self, position: _Optional[_Union[Position, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ["position"]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: Position
    def __init__(self, position: _Optional[_Union[Position, _Mapping]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ["causation_id", "correlation_id", "created_at", "data", "event_id", "metadata", "position", "stream_id", "type", "version"]
    CAUSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    causation_id: str
    correlation_id: str
    created_at: _timestamp_pb2.Timestamp
    data: _struct_pb2.Struct
    event_id: str
    metadata: _struct_pb2.Struct
    position: Position
    stream_id: str
    type: str
    version: int
    def __init__(self, event_id: _Optional[str] = ..., stream_id: _Optional[str] = ..., version: _Optional[int] = ..., type: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., correlation_id: _Optional[str] = ..., causation_id: _Optional[str] = ..., position: _Optional[_Union[Position, _Mapping]] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EventFilter(_message.Message):
    __slots__ = ["event_types", "stream_id_prefixes"]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_PREFIXES_FIELD_NUMBER: _ClassVar[int]
    event_types: _containers.RepeatedScalarFieldContainer[str]
    stream_id_prefixes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, event_types: _Optional[_Iterable[str]] = ..., stream_id_prefixes: _Optional[_Iterable[str]] = ...) -> None: ...

class ExpectedVersion(_message.Message):
    __slots__ = ["kind", "version"]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    kind: ExpectedVersionKind
    version: int
    def __init__(self, kind: _Optional[_Union[ExpectedVersionKind, str]] = ..., version: _Optional[int] = ...) -> None: ...

class GetEventRequest(_message.Message):
    __slots__ = ["event_id"]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    def __init__(self, event_id: _Optional[str] = ...) -> None: ...

class GetEventResponse(_message.Message):
    __slots__ = ["event"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: Event
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...

class GetStreamInfoRequest(_message.Message):
    __slots__ = ["stream_id"]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class GetStreamInfoResponse(_message.Message):
    __slots__ = ["created_at", "exists", "updated_at", "version"]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    created_at: _timestamp_pb2.Timestamp
    exists: bool
    updated_at: _timestamp_pb2.Timestamp
    version: int
    def __init__(self, exists: bool = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Position(_message.Message):
    __slots__ = ["commit", "prepare"]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    PREPARE_FIELD_NUMBER: _ClassVar[int]
    commit: int
    prepare: int
    def __init__(self, commit: _Optional[int] = ..., prepare: _Optional[int] = ...) -> None: ...

class ProposedEvent(_message.Message):
    __slots__ = ["causation_id", "correlation_id", "data", "event_id", "metadata", "type"]
    CAUSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    causation_id: str
    correlation_id: str
    data: _struct_pb2.Struct
    event_id: str
    metadata: _struct_pb2.Struct
    type: str
    def __init__(self, event_id: _Optional[str] = ..., type: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., correlation_id: _Optional[str] = ..., causation_id: _Optional[str] = ...) -> None: ...

class ReadAllRequest(_message.Message):
    __slots__ = ["filter", "from_position", "limit"]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    filter: EventFilter
    from_position: Position
    limit: int
    def __init__(self, from_position: _Optional[_Union[Position, _Mapping]] = ..., limit: _Optional[int] = ..., filter: _Optional[_Union[EventFilter, _Mapping]] = ...) -> None: ...

class ReadAllResponse(_message.Message):
    __slots__ = ["end_of_log", "events", "next_position"]
    END_OF_LOG_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_POSITION_FIELD_NUMBER: _ClassVar[int]
    end_of_log: bool
    events: _containers.RepeatedCompositeFieldContainer[Event]
    next_position: Position
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., next_position: _Optional[_Union[Position, _Mapping]] = ..., end_of_log: bool = ...) -> None: ...

class ReadStreamRequest(_message.Message):
    __slots__ = ["direction", "from_version", "limit", "stream_id"]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    direction: ReadDirection
    from_version: int
    limit: int
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ..., from_version: _Optional[int] = ..., direction: _Optional[_Union[ReadDirection, str]] = ..., limit: _Optional[int] = ...) -> None: ...

class ReadStreamResponse(_message.Message):
    __slots__ = ["end_of_stream", "events", "stream_version"]
    END_OF_STREAM_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    STREAM_VERSION_FIELD_NUMBER: _ClassVar[int]
    end_of_stream: bool
    events: _containers.RepeatedCompositeFieldContainer[Event]
    stream_version: int
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., stream_version: _Optional[int] = ..., end_of_stream: bool = ...) -> None: ...

class SubscribeToAllRequest(_message.Message):
    __slots__ = ["checkpoint_interval", "end", "filter", "position", "start"]
    class End(_message.Message):
        __slots__ = []
        def __init__(self) -> None: ...
    class Start(_message.Message):
        __slots__ = []
        def __init__(self) -> None: ...
    CHECKPOINT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    checkpoint_interval: int
    end: SubscribeToAllRequest.End
    filter: EventFilter
    position: Position
    start: SubscribeToAllRequest.Start
    def __init__(self, start: _Optional[_Union[SubscribeToAllRequest.Start, _Mapping]] = ..., position: _Optional[_Union[Position, _Mapping]] = ..., end: _Optional[_Union[SubscribeToAllRequest.End, _Mapping]] = ..., filter: _Optional[_Union[EventFilter, _Mapping]] = ..., checkpoint_interval: _Optional[int] = ...) -> None: ...

class SubscribeToAllResponse(_message.Message):
    __slots__ = ["caught_up", "checkpoint", "event"]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    caught_up: CaughtUp
    checkpoint: Checkpoint
    event: Event
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ..., caught_up: _Optional[_Union[CaughtUp, _Mapping]] = ..., checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ...) -> None: ...

class SubscribeToStreamRequest(_message.Message):
    __slots__ = ["from_version", "stream_id"]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    from_version: int
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ..., from_version: _Optional[int] = ...) -> None: ...

class SubscribeToStreamResponse(_message.Message):
    __slots__ = ["caught_up", "event"]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    caught_up: CaughtUp
    event: Event
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ..., caught_up: _Optional[_Union[CaughtUp, _Mapping]] = ...) -> None: ...

class ExpectedVersionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ReadDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
