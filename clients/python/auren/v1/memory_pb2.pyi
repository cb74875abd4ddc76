from auren.v1 import events_pb2 as _events_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
HYPOTHESIS_STATUS_FORMED: HypothesisStatus
HYPOTHESIS_STATUS_REFUTED: HypothesisStatus
HYPOTHESIS_STATUS_UNSPECIFIED: HypothesisStatus
HYPOTHESIS_STATUS_VALIDATED: HypothesisStatus
KNOWLEDGE_STATUS_PENDING: KnowledgeStatus
KNOWLEDGE_STATUS_REJECTED: KnowledgeStatus
KNOWLEDGE_STATUS_UNSPECIFIED: KnowledgeStatus
KNOWLEDGE_STATUS_VALIDATED: KnowledgeStatus
MEMORY_TYPE_ANALYSIS: MemoryType
MEMORY_TYPE_CONVERSATION: MemoryType
MEMORY_TYPE_DECISION: MemoryType
MEMORY_TYPE_FACT: MemoryType
MEMORY_TYPE_HYPOTHESIS: MemoryType
MEMORY_TYPE_INSIGHT: MemoryType
MEMORY_TYPE_RECOMMENDATION: MemoryType
MEMORY_TYPE_UNSPECIFIED: MemoryType
SEARCH_MODE_FULL_TEXT: SearchMode
SEARCH_MODE_HYBRID: SearchMode
SEARCH_MODE_SEMANTIC: SearchMode
SEARCH_MODE_UNSPECIFIED: SearchMode

class AcknowledgeHandoffRequest(_message.Message):
    __slots__ = ["handoff_id", "note"]
    HANDOFF_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    handoff_id: str
    note: str
    def __init__(self, handoff_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class AcknowledgeHandoffResponse(_message.Message):
    __slots__ = ["handoff"]
    HANDOFF_FIELD_NUMBER: _ClassVar[int]
    handoff: Handoff
    def __init__(self, handoff: _Optional[_Union[Handoff, _Mapping]] = ...) -> None: ...

class AddKnowledgeRequest(_message.Message):
    __slots__ = ["agent_id", "confidence", "content", "domain", "evidence", "knowledge_type"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    KNOWLEDGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    confidence: float
    content: _struct_pb2.Struct
    domain: str
    evidence: _struct_pb2.Struct
    knowledge_type: str
    def __init__(self, agent_id: _Optional[str] = ..., domain: _Optional[str] = ..., knowledge_type: _Optional[str] = ..., content: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., confidence: _Optional[float] = ..., evidence: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class AddKnowledgeResponse(_message.Message):
    __slots__ = ["knowledge"]
    KNOWLEDGE_FIELD_NUMBER: _ClassVar[int]
    knowledge: Knowledge
    def __init__(self, knowledge: _Optional[_Union[Knowledge, _Mapping]] = ...) -> None: ...

class AgentMemories(_message.Message):
    __slots__ = ["agent_id", "memories"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    MEMORIES_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    memories: _containers.RepeatedCompositeFieldContainer[Memory]
    def __init__(self, agent_id: _Optional[str] = ..., memories: _Optional[_Iterable[_Union[Memory, _Mapping]]] = ...) -> None: ...

class BiometricReading(_message.Message):
    __slots__ = ["data", "id", "measured_at", "recorded_at", "source", "user_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MEASURED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    id: str
    measured_at: _timestamp_pb2.Timestamp
    recorded_at: _timestamp_pb2.Timestamp
    source: str
    user_id: str
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., source: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., measured_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., recorded_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConversationTurn(_message.Message):
    __slots__ = ["agent_id", "conversation_id", "created_at", "follow_up_actions", "id", "insights", "message_context", "user_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UP_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INSIGHTS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    conversation_id: str
    created_at: _timestamp_pb2.Timestamp
    follow_up_actions: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    id: str
    insights: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    message_context: _struct_pb2.Struct
    user_id: str
    def __init__(self, id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., user_id: _Optional[str] = ..., message_context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., insights: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., follow_up_actions: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeleteMemoryRequest(_message.Message):
    __slots__ = ["id", "reason"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DeleteMemoryResponse(_message.Message):
    __slots__ = ["memory"]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    memory: Memory
    def __init__(self, memory: _Optional[_Union[Memory, _Mapping]] = ...) -> None: ...

class GetMemoryHistoryRequest(_message.Message):
    __slots__ = ["id", "page_size", "page_token"]
    ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    id: str
    page_size: int
    page_token: str
    def __init__(self, id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetMemoryHistoryResponse(_message.Message):
    __slots__ = ["events", "next_page_token"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_events_pb2.Event]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[_events_pb2.Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetMemoryRequest(_message.Message):
    __slots__ = ["id", "include_expired"]
    ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    id: str
    include_expired: bool
    def __init__(self, id: _Optional[str] = ..., include_expired: bool = ...) -> None: ...

class GetMemoryResponse(_message.Message):
    __slots__ = ["memory"]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    memory: Memory
    def __init__(self, memory: _Optional[_Union[Memory, _Mapping]] = ...) -> None: ...

class GetMemoryStatsRequest(_message.Message):
    __slots__ = ["agent_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class GetMemoryStatsResponse(_message.Message):
    __slots__ = ["average_confidence", "count_by_type", "last_created_at", "total"]
    class CountByTypeEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    AVERAGE_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    COUNT_BY_TYPE_FIELD_NUMBER: _ClassVar[int]
    LAST_CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    average_confidence: float
    count_by_type: _containers.ScalarMap[str, int]
    last_created_at: _timestamp_pb2.Timestamp
    total: int
    def __init__(self, count_by_type: _Optional[_Mapping[str, int]] = ..., total: _Optional[int] = ..., average_confidence: _Optional[float] = ..., last_created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetSharedContextRequest(_message.Message):
    __slots__ = ["decisions_limit", "hypotheses_limit", "memories_per_agent", "min_confidence", "requesting_agent", "user_id"]
    DECISIONS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    HYPOTHESES_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MEMORIES_PER_AGENT_FIELD_NUMBER: _ClassVar[int]
    MIN_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    REQUESTING_AGENT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    decisions_limit: int
    hypotheses_limit: int
    memories_per_agent: int
    min_confidence: float
    requesting_agent: str
    user_id: str
    def __init__(self, user_id: _Optional[str] = ..., requesting_agent: _Optional[str] = ..., min_confidence: _Optional[float] = ..., memories_per_agent: _Optional[int] = ..., decisions_limit: _Optional[int] = ..., hypotheses_limit: _Optional[int] = ...) -> None: ...

class GetSharedContextResponse(_message.Message):
    __slots__ = ["agents", "recent_decisions", "requesting_agent", "truncated", "user_id", "validated_hypotheses"]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    RECENT_DECISIONS_FIELD_NUMBER: _ClassVar[int]
    REQUESTING_AGENT_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATED_HYPOTHESES_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[AgentMemories]
    recent_decisions: _containers.RepeatedCompositeFieldContainer[Memory]
    requesting_agent: str
    truncated: bool
    user_id: str
    validated_hypotheses: _containers.RepeatedCompositeFieldContainer[Hypothesis]
    def __init__(self, user_id: _Optional[str] = ..., requesting_agent: _Optional[str] = ..., agents: _Optional[_Iterable[_Union[AgentMemories, _Mapping]]] = ..., recent_decisions: _Optional[_Iterable[_Union[Memory, _Mapping]]] = ..., validated_hypotheses: _Optional[_Iterable[_Union[Hypothesis, _Mapping]]] = ..., truncated: bool = ...) -> None: ...

class GetUserProfileRequest(_message.Message):
    __slots__ = ["user_id"]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class GetUserProfileResponse(_message.Message):
    __slots__ = ["profile"]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: UserProfile
    def __init__(self, profile: _Optional[_Union[UserProfile, _Mapping]] = ...) -> None: ...

class Handoff(_message.Message):
    __slots__ = ["acknowledged_at", "acknowledged_by", "acknowledgement_note", "context", "created_at", "from_agent", "handoff_type", "id", "memory_id", "reason", "requires_response", "to_agent", "topic", "urgency", "user_id", "version"]
    ACKNOWLEDGED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_BY_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGEMENT_NOTE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FROM_AGENT_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MEMORY_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    TO_AGENT_FIELD_NUMBER: _ClassVar[int]
    URGENCY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    acknowledged_at: _timestamp_pb2.Timestamp
    acknowledged_by: str
    acknowledgement_note: str
    context: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    from_agent: str
    handoff_type: str
    id: str
    memory_id: str
    reason: str
    requires_response: bool
    to_agent: str
    topic: str
    urgency: str
    user_id: str
    version: int
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., from_agent: _Optional[str] = ..., to_agent: _Optional[str] = ..., topic: _Optional[str] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., reason: _Optional[str] = ..., handoff_type: _Optional[str] = ..., urgency: _Optional[str] = ..., requires_response: bool = ..., memory_id: _Optional[str] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledged_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledged_by: _Optional[str] = ..., acknowledgement_note: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class HandoffAgentRequest(_message.Message):
    __slots__ = ["context", "from_agent", "handoff_type", "reason", "requires_response", "to_agent", "topic", "urgency", "user_id"]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    FROM_AGENT_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_TYPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    TO_AGENT_FIELD_NUMBER: _ClassVar[int]
    URGENCY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    context: _struct_pb2.Struct
    from_agent: str
    handoff_type: str
    reason: str
    requires_response: bool
    to_agent: str
    topic: str
    urgency: str
    user_id: str
    def __init__(self, user_id: _Optional[str] = ..., from_agent: _Optional[str] = ..., to_agent: _Optional[str] = ..., topic: _Optional[str] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., reason: _Optional[str] = ..., handoff_type: _Optional[str] = ..., urgency: _Optional[str] = ..., requires_response: bool = ...) -> None: ...

class HandoffAgentResponse(_message.Message):
    __slots__ = ["handoff", "memory"]
    HANDOFF_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    handoff: Handoff
    memory: Memory
    def __init__(self, handoff: _Optional[_Union[Handoff, _Mapping]] = ..., memory: _Optional[_Union[Memory, _Mapping]] = ...) -> None: ...

class Hypothesis(_message.Message):
    __slots__ = ["agent_id", "evidence", "final_confidence", "formed_at", "id", "initial_confidence", "resolved_at", "resolved_by", "statement", "status", "user_id", "validation_evidence", "version"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    FINAL_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    FORMED_AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INITIAL_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_BY_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    evidence: _struct_pb2.Struct
    final_confidence: float
    formed_at: _timestamp_pb2.Timestamp
    id: str
    initial_confidence: float
    resolved_at: _timestamp_pb2.Timestamp
    resolved_by: str
    statement: str
    status: HypothesisStatus
    user_id: str
    validation_evidence: _struct_pb2.Struct
    version: int
    def __init__(self, id: _Optional[str] = ..., agent_id: _Optional[str] = ..., user_id: _Optional[str] = ..., statement: _Optional[str] = ..., status: _Optional[_Union[HypothesisStatus, str]] = ..., initial_confidence: _Optional[float] = ..., evidence: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., final_confidence: _Optional[float] = ..., validation_evidence: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., resolved_by: _Optional[str] = ..., formed_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., resolved_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class Knowledge(_message.Message):
    __slots__ = ["agent_id", "confidence", "content", "created_at", "domain", "evidence", "id", "knowledge_type", "validated_at", "validated_by", "validation_status", "version"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    KNOWLEDGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    VALIDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VALIDATED_BY_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    confidence: float
    content: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    domain: str
    evidence: _struct_pb2.Struct
    id: str
    knowledge_type: str
    validated_at: _timestamp_pb2.Timestamp
    validated_by: str
    validation_status: KnowledgeStatus
    version: int
    def __init__(self, id: _Optional[str] = ..., agent_id: _Optional[str] = ..., domain: _Optional[str] = ..., knowledge_type: _Optional[str] = ..., content: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., confidence: _Optional[float] = ..., evidence: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., validation_status: _Optional[_Union[KnowledgeStatus, str]] = ..., validated_by: _Optional[str] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., validated_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class ListAuditTrailRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "to", "user_id"]
    FROM_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    to: _timestamp_pb2.Timestamp
    user_id: str
    def __init__(self, user_id: _Optional[str] = ..., to: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., **kwargs) -> None: ...

class ListAuditTrailResponse(_message.Message):
    __slots__ = ["events", "next_page_token"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_events_pb2.Event]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[_events_pb2.Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListBiometricReadingsRequest(_message.Message):
    __slots__ = ["limit", "page_token", "to", "user_id"]
    FROM_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    limit: int
    page_token: str
    to: _timestamp_pb2.Timestamp
    user_id: str
    def __init__(self, user_id: _Optional[str] = ..., to: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ..., **kwargs) -> None: ...

class ListBiometricReadingsResponse(_message.Message):
    __slots__ = ["next_page_token", "readings"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    READINGS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    readings: _containers.RepeatedCompositeFieldContainer[BiometricReading]
    def __init__(self, readings: _Optional[_Iterable[_Union[BiometricReading, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListConversationTurnsRequest(_message.Message):
    __slots__ = ["agent_id", "conversation_id", "newest_first", "page_size", "page_token", "to", "user_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    NEWEST_FIRST_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    conversation_id: str
    newest_first: bool
    page_size: int
    page_token: str
    to: _timestamp_pb2.Timestamp
    user_id: str
    def __init__(self, user_id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., to: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., newest_first: bool = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., **kwargs) -> None: ...

class ListConversationTurnsResponse(_message.Message):
    __slots__ = ["next_page_token", "turns"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TURNS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    turns: _containers.RepeatedCompositeFieldContainer[ConversationTurn]
    def __init__(self, turns: _Optional[_Iterable[_Union[ConversationTurn, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListHypothesesRequest(_message.Message):
    __slots__ = ["agent_id", "limit", "page_token", "statuses", "user_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    limit: int
    page_token: str
    statuses: _containers.RepeatedScalarFieldContainer[HypothesisStatus]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[HypothesisStatus, str]]] = ..., agent_id: _Optional[str] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListHypothesesResponse(_message.Message):
    __slots__ = ["hypotheses", "next_page_token"]
    HYPOTHESES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    hypotheses: _containers.RepeatedCompositeFieldContainer[Hypothesis]
    next_page_token: str
    def __init__(self, hypotheses: _Optional[_Iterable[_Union[Hypothesis, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListKnowledgeRequest(_message.Message):
    __slots__ = ["agent_id", "domain", "limit", "min_confidence", "page_token", "statuses"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MIN_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    domain: str
    limit: int
    min_confidence: float
    page_token: str
    statuses: _containers.RepeatedScalarFieldContainer[KnowledgeStatus]
    def __init__(self, agent_id: _Optional[str] = ..., domain: _Optional[str] = ..., min_confidence: _Optional[float] = ..., statuses: _Optional[_Iterable[_Union[KnowledgeStatus, str]]] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListKnowledgeResponse(_message.Message):
    __slots__ = ["items", "next_page_token"]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Knowledge]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Knowledge, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListMemoriesRequest(_message.Message):
    __slots__ = ["agent_id", "include_expired", "min_confidence", "page_size", "page_token", "types", "user_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    MIN_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    include_expired: bool
    min_confidence: float
    page_size: int
    page_token: str
    types: _containers.RepeatedScalarFieldContainer[MemoryType]
    user_id: str
    def __init__(self, agent_id: _Optional[str] = ..., user_id: _Optional[str] = ..., types: _Optional[_Iterable[_Union[MemoryType, str]]] = ..., min_confidence: _Optional[float] = ..., include_expired: bool = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMemoriesResponse(_message.Message):
    __slots__ = ["memories", "next_page_token"]
    MEMORIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    memories: _containers.RepeatedCompositeFieldContainer[Memory]
    next_page_token: str
    def __init__(self, memories: _Optional[_Iterable[_Union[Memory, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListPendingHandoffsRequest(_message.Message):
    __slots__ = ["agent_id", "limit", "page_token", "user_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    limit: int
    page_token: str
    user_id: str
    def __init__(self, agent_id: _Optional[str] = ..., user_id: _Optional[str] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPendingHandoffsResponse(_message.Message):
    __slots__ = ["handoffs", "next_page_token"]
    HANDOFFS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    handoffs: _containers.RepeatedCompositeFieldContainer[Handoff]
    next_page_token: str
    def __init__(self, handoffs: _Optional[_Iterable[_Union[Handoff, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Memory(_message.Message):
    __slots__ = ["agent_id", "confidence", "content", "created_at", "deleted", "expired", "expires_at", "id", "metadata", "type", "updated_at", "user_id", "version"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    confidence: float
    content: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    deleted: bool
    expired: bool
    expires_at: _timestamp_pb2.Timestamp
    id: str
    metadata: _struct_pb2.Struct
    type: MemoryType
    updated_at: _timestamp_pb2.Timestamp
    user_id: str
    version: int
    def __init__(self, id: _Optional[str] = ..., agent_id: _Optional[str] = ..., user_id: _Optional[str] = ..., type: _Optional[_Union[MemoryType, str]] = ..., content: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., confidence: _Optional[float] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., deleted: bool = ..., expired: bool = ...) -> None: ...

class RecordBiometricReadingRequest(_message.Message):
    __slots__ = ["data", "measured_at", "source", "user_id"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    MEASURED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    measured_at: _timestamp_pb2.Timestamp
    source: str
    user_id: str
    def __init__(self, user_id: _Optional[str] = ..., source: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., measured_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordBiometricReadingResponse(_message.Message):
    __slots__ = ["reading"]
    READING_FIELD_NUMBER: _ClassVar[int]
    reading: BiometricReading
    def __init__(self, reading: _Optional[_Union[BiometricReading, _Mapping]] = ...) -> None: ...

class RecordConversationTurnRequest(_message.Message):
    __slots__ = ["agent_id", "conversation_id", "follow_up_actions", "insights", "message_context", "user_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UP_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    INSIGHTS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    conversation_id: str
    follow_up_actions: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    insights: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    message_context: _struct_pb2.Struct
    user_id: str
    def __init__(self, conversation_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., user_id: _Optional[str] = ..., message_context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., insights: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., follow_up_actions: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ...) -> None: ...

class RecordConversationTurnResponse(_message.Message):
    __slots__ = ["turn"]
    TURN_FIELD_NUMBER: _ClassVar[int]
    turn: ConversationTurn
    def __init__(self, turn: _Optional[_Union[ConversationTurn, _Mapping]] = ...) -> None: ...

class RecordDecisionRequest(_message.Message):
    __slots__ = ["agent_id", "category", "confidence", "context", "decision", "summary", "urgency", "used_memory_ids", "user_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    URGENCY_FIELD_NUMBER: _ClassVar[int]
    USED_MEMORY_IDS_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    category: str
    confidence: float
    context: _struct_pb2.Struct
    decision: _struct_pb2.Struct
    summary: str
    urgency: str
    used_memory_ids: _containers.RepeatedScalarFieldContainer[str]
    user_id: str
    def __init__(self, agent_id: _Optional[str] = ..., user_id: _Optional[str] = ..., decision: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., confidence: _Optional[float] = ..., category: _Optional[str] = ..., urgency: _Optional[str] = ..., summary: _Optional[str] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., used_memory_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RecordDecisionResponse(_message.Message):
    __slots__ = ["memory"]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    memory: Memory
    def __init__(self, memory: _Optional[_Union[Memory, _Mapping]] = ...) -> None: ...

class RecordHypothesisRequest(_message.Message):
    __slots__ = ["agent_id", "confidence", "evidence", "expected_version", "hypothesis_id", "statement", "status", "user_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    HYPOTHESIS_ID_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    confidence: float
    evidence: _struct_pb2.Struct
    expected_version: int
    hypothesis_id: str
    statement: str
    status: HypothesisStatus
    user_id: str
    def __init__(self, hypothesis_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., user_id: _Optional[str] = ..., statement: _Optional[str] = ..., evidence: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., confidence: _Optional[float] = ..., status: _Optional[_Union[HypothesisStatus, str]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RecordHypothesisResponse(_message.Message):
    __slots__ = ["hypothesis"]
    HYPOTHESIS_FIELD_NUMBER: _ClassVar[int]
    hypothesis: Hypothesis
    def __init__(self, hypothesis: _Optional[_Union[Hypothesis, _Mapping]] = ...) -> None: ...

class SearchMemoriesRequest(_message.Message):
    __slots__ = ["agent_id", "embedding", "include_expired", "limit", "min_confidence", "mode", "query", "types", "user_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MIN_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    embedding: _containers.RepeatedScalarFieldContainer[float]
    include_expired: bool
    limit: int
    min_confidence: float
    mode: SearchMode
    query: str
    types: _containers.RepeatedScalarFieldContainer[MemoryType]
    user_id: str
    def __init__(self, query: _Optional[str] = ..., agent_id: _Optional[str] = ..., user_id: _Optional[str] = ..., types: _Optional[_Iterable[_Union[MemoryType, str]]] = ..., mode: _Optional[_Union[SearchMode, str]] = ..., limit: _Optional[int] = ..., min_confidence: _Optional[float] = ..., include_expired: bool = ..., embedding: _Optional[_Iterable[float]] = ...) -> None: ...

class SearchMemoriesResponse(_message.Message):
    __slots__ = ["results"]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SearchResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SearchResult, _Mapping]]] = ...) -> None: ...

class SearchResult(_message.Message):
    __slots__ = ["full_text_rank", "matched_by", "memory", "score", "semantic_rank"]
    FULL_TEXT_RANK_FIELD_NUMBER: _ClassVar[int]
    MATCHED_BY_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_RANK_FIELD_NUMBER: _ClassVar[int]
    full_text_rank: int
    matched_by: _containers.RepeatedScalarFieldContainer[SearchMode]
    memory: Memory
    score: float
    semantic_rank: int
    def __init__(self, memory: _Optional[_Union[Memory, _Mapping]] = ..., score: _Optional[float] = ..., matched_by: _Optional[_Iterable[_Union[SearchMode, str]]] = ..., full_text_rank: _Optional[int] = ..., semantic_rank: _Optional[int] = ...) -> None: ...

class StoreMemoryRequest(_message.Message):
    __slots__ = ["agent_id", "confidence", "content", "embedding", "expires_at", "metadata", "type", "user_id"]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    confidence: float
    content: _struct_pb2.Struct
    embedding: _containers.RepeatedScalarFieldContainer[float]
    expires_at: _timestamp_pb2.Timestamp
    metadata: _struct_pb2.Struct
    type: MemoryType
    user_id: str
    def __init__(self, agent_id: _Optional[str] = ..., user_id: _Optional[str] = ..., type: _Optional[_Union[MemoryType, str]] = ..., content: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., confidence: _Optional[float] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., embedding: _Optional[_Iterable[float]] = ...) -> None: ...

class StoreMemoryResponse(_message.Message):
    __slots__ = ["memory"]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    memory: Memory
    def __init__(self, memory: _Optional[_Union[Memory, _Mapping]] = ...) -> None: ...

class UpdateMemoryRequest(_message.Message):
    __slots__ = ["confidence", "content", "embedding", "expected_version", "id", "metadata"]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    confidence: float
    content: _struct_pb2.Struct
    embedding: _containers.RepeatedScalarFieldContainer[float]
    expected_version: int
    id: str
    metadata: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., content: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., confidence: _Optional[float] = ..., expected_version: _Optional[int] = ..., embedding: _Optional[_Iterable[float]] = ...) -> None: ...

class UpdateMemoryResponse(_message.Message):
    __slots__ = ["memory"]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    memory: Memory
    def __init__(self, memory: _Optional[_Union[Memory, _Mapping]] = ...) -> None: ...

class UpsertUserProfileRequest(_message.Message):
    __slots__ = ["expected_version", "preferences", "privacy_settings", "profile_data", "user_id"]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    PRIVACY_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_DATA_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    expected_version: int
    preferences: _struct_pb2.Struct
    privacy_settings: _struct_pb2.Struct
    profile_data: _struct_pb2.Struct
    user_id: str
    def __init__(self, user_id: _Optional[str] = ..., profile_data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., preferences: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., privacy_settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class UpsertUserProfileResponse(_message.Message):
    __slots__ = ["profile"]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: UserProfile
    def __init__(self, profile: _Optional[_Union[UserProfile, _Mapping]] = ...) -> None: ...

class UserProfile(_message.Message):
    __slots__ = ["created_at", "preferences", "privacy_settings", "profile_data", "updated_at", "user_id", "version"]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    PRIVACY_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_DATA_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    created_at: _timestamp_pb2.Timestamp
    preferences: _struct_pb2.Struct
    privacy_settings: _struct_pb2.Struct
    profile_data: _struct_pb2.Struct
    updated_at: _timestamp_pb2.Timestamp
    user_id: str
    version: int
    def __init__(self, user_id: _Optional[str] = ..., profile_data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., preferences: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., privacy_settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class ValidateKnowledgeRequest(_message.Message):
    __slots__ = ["confidence", "evidence", "expected_version", "knowledge_id", "status"]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    KNOWLEDGE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    confidence: float
    evidence: _struct_pb2.Struct
    expected_version: int
    knowledge_id: str
    status: KnowledgeStatus
    def __init__(self, knowledge_id: _Optional[str] = ..., status: _Optional[_Union[KnowledgeStatus, str]] = ..., evidence: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., confidence: _Optional[float] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ValidateKnowledgeResponse(_message.Message):
    __slots__ = ["knowledge"]
    KNOWLEDGE_FIELD_NUMBER: _ClassVar[int]
    knowledge: Knowledge
    def __init__(self, knowledge: _Optional[_Union[Knowledge, _Mapping]] = ...) -> None: ...

class MemoryType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SearchMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class HypothesisStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class KnowledgeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
