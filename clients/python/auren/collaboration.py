"""Agents working together (the seed's §3.6): what the collaboration RPCs of MemoryService
answer, and the calls themselves, written once for AurenClient and AsyncAurenClient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, TypeVar

from auren.model import JsonObject, Memory, dict_to_struct, struct_to_dict, time_of, timestamp
from auren.v1 import memory_pb2

T = TypeVar("T")

HYPOTHESIS_STATUSES = ("formed", "validated", "refuted")
KNOWLEDGE_STATUSES = ("pending", "validated", "rejected")


class Page(List[T]):
    """One page of a collaboration list: a list of its items, and ``next_page_token`` to pass
    as ``page_token`` for the next page ("" on the last). A page stops at its limit or at the
    server's response budget (RESPONSE_MAX_BYTES), whichever comes first."""

    def __init__(self, items: Iterable[T], next_page_token: str) -> None:
        super().__init__(items)
        self.next_page_token = next_page_token


def _status_name(enum: Any, prefix: str, value: int) -> Optional[str]:
    name = enum.Name(value)
    return None if name.endswith("_UNSPECIFIED") else name[len(prefix) :].lower()


def _hypothesis_status(name: str) -> int:
    if name not in HYPOTHESIS_STATUSES:
        raise ValueError(f"a hypothesis status is one of {', '.join(HYPOTHESIS_STATUSES)}, not {name!r}")
    return memory_pb2.HypothesisStatus.Value(f"HYPOTHESIS_STATUS_{name.upper()}")


def _knowledge_status(name: str) -> int:
    if name not in KNOWLEDGE_STATUSES:
        raise ValueError(f"a knowledge status is one of {', '.join(KNOWLEDGE_STATUSES)}, not {name!r}")
    return memory_pb2.KnowledgeStatus.Value(f"KNOWLEDGE_STATUS_{name.upper()}")


@dataclass(frozen=True)
class Hypothesis:
    """What an agent supposes about a person, and how it was resolved."""

    id: str
    agent_id: str
    user_id: str
    statement: str
    status: Optional[str]
    initial_confidence: float
    evidence: JsonObject
    final_confidence: Optional[float]
    validation_evidence: Optional[JsonObject]
    resolved_by: str
    formed_at: Optional[datetime]
    resolved_at: Optional[datetime]
    version: int

    @classmethod
    def from_pb(cls, m: Any) -> "Hypothesis":
        resolved = m.HasField("resolved_at")
        return cls(
            id=m.id,
            agent_id=m.agent_id,
            user_id=m.user_id,
            statement=m.statement,
            status=_status_name(memory_pb2.HypothesisStatus, "HYPOTHESIS_STATUS_", m.status),
            initial_confidence=m.initial_confidence,
            evidence=struct_to_dict(m.evidence),
            final_confidence=m.final_confidence if resolved else None,
            validation_evidence=struct_to_dict(m.validation_evidence) if m.HasField("validation_evidence") else None,
            resolved_by=m.resolved_by,
            formed_at=time_of(m, "formed_at"),
            resolved_at=time_of(m, "resolved_at"),
            version=m.version,
        )


@dataclass(frozen=True)
class Handoff:
    """One agent handing a person over to another."""

    id: str
    user_id: str
    from_agent: str
    to_agent: str
    topic: str
    context: JsonObject
    reason: str
    handoff_type: str
    urgency: str
    requires_response: bool
    memory_id: str
    created_at: Optional[datetime]
    acknowledged_at: Optional[datetime]
    acknowledged_by: str
    version: int

    @classmethod
    def from_pb(cls, m: Any) -> "Handoff":
        return cls(
            id=m.id,
            user_id=m.user_id,
            from_agent=m.from_agent,
            to_agent=m.to_agent,
            topic=m.topic,
            context=struct_to_dict(m.context),
            reason=m.reason,
            handoff_type=m.handoff_type,
            urgency=m.urgency,
            requires_response=m.requires_response,
            memory_id=m.memory_id,
            created_at=time_of(m, "created_at"),
            acknowledged_at=time_of(m, "acknowledged_at"),
            acknowledged_by=m.acknowledged_by,
            version=m.version,
        )


@dataclass(frozen=True)
class SharedContext:
    """What the other agents know of a person: their recent high-confidence memories by agent,
    the person's recent decisions and validated hypotheses, newest first, as of one snapshot."""

    user_id: str
    requesting_agent: str
    memories_by_agent: Dict[str, List[Memory]]
    recent_decisions: List[Memory]
    validated_hypotheses: List[Hypothesis]
    # True when parts were left out to keep the answer within the server's response budget.
    truncated: bool = False

    @classmethod
    def from_pb(cls, m: Any) -> "SharedContext":
        return cls(
            user_id=m.user_id,
            requesting_agent=m.requesting_agent,
            memories_by_agent={a.agent_id: [Memory.from_pb(x) for x in a.memories] for a in m.agents},
            recent_decisions=[Memory.from_pb(x) for x in m.recent_decisions],
            validated_hypotheses=[Hypothesis.from_pb(h) for h in m.validated_hypotheses],
            truncated=m.truncated,
        )


@dataclass(frozen=True)
class BiometricReading:
    """One reading of a person's body."""

    id: str
    user_id: str
    source: str
    data: JsonObject
    measured_at: Optional[datetime]
    recorded_at: Optional[datetime]

    @classmethod
    def from_pb(cls, m: Any) -> "BiometricReading":
        return cls(m.id, m.user_id, m.source, struct_to_dict(m.data), time_of(m, "measured_at"), time_of(m, "recorded_at"))


@dataclass(frozen=True)
class UserProfile:
    """What is known of a person beside the agents' memories."""

    user_id: str
    profile_data: JsonObject
    preferences: JsonObject
    privacy_settings: JsonObject
    version: int

    @classmethod
    def from_pb(cls, m: Any) -> "UserProfile":
        return cls(
            m.user_id, struct_to_dict(m.profile_data), struct_to_dict(m.preferences), struct_to_dict(m.privacy_settings), m.version
        )


@dataclass(frozen=True)
class Knowledge:
    """One item of an agent's specialist knowledge."""

    id: str
    agent_id: str
    domain: str
    knowledge_type: str
    content: JsonObject
    confidence: float
    evidence: JsonObject
    validation_status: Optional[str]
    validated_by: str
    version: int

    @classmethod
    def from_pb(cls, m: Any) -> "Knowledge":
        return cls(
            id=m.id,
            agent_id=m.agent_id,
            domain=m.domain,
            knowledge_type=m.knowledge_type,
            content=struct_to_dict(m.content),
            confidence=m.confidence,
            evidence=struct_to_dict(m.evidence),
            validation_status=_status_name(memory_pb2.KnowledgeStatus, "KNOWLEDGE_STATUS_", m.validation_status),
            validated_by=m.validated_by,
            version=m.version,
        )


@dataclass(frozen=True)
class ConversationTurn:
    """One turn of a conversation between an agent and a person."""

    id: str
    conversation_id: str
    agent_id: str
    user_id: str
    message_context: JsonObject
    insights: List[JsonObject]
    follow_up_actions: List[JsonObject]
    created_at: Optional[datetime]

    @classmethod
    def from_pb(cls, m: Any) -> "ConversationTurn":
        return cls(
            id=m.id,
            conversation_id=m.conversation_id,
            agent_id=m.agent_id,
            user_id=m.user_id,
            message_context=struct_to_dict(m.message_context),
            insights=[struct_to_dict(x) for x in m.insights],
            follow_up_actions=[struct_to_dict(x) for x in m.follow_up_actions],
            created_at=time_of(m, "created_at"),
        )


class CollaborationMethods:
    """The collaboration calls of MemoryService; agent ids default to the client's agent."""

    _memory: Any

    def _call(self, method: Any, request: Any, answer: Callable[[Any], T]) -> T:
        raise NotImplementedError

    def _agent_or(self, agent_id: Optional[str]) -> str:
        raise NotImplementedError

    def shared_context(
        self,
        user_id: str,
        *,
        requesting_agent: Optional[str] = None,
        min_confidence: Optional[float] = None,
        memories_per_agent: int = 0,
        decisions_limit: int = 0,
        hypotheses_limit: int = 0,
    ) -> SharedContext:
        """The other agents' conclusions about a person (seed defaults 0.7, 10, 5, 3). Audited."""
        request = memory_pb2.GetSharedContextRequest(
            user_id=user_id,
            requesting_agent=self._agent_or(requesting_agent),
            memories_per_agent=memories_per_agent,
            decisions_limit=decisions_limit,
            hypotheses_limit=hypotheses_limit,
        )
        if min_confidence is not None:
            request.min_confidence = min_confidence
        return self._call(self._memory.GetSharedContext, request, SharedContext.from_pb)

    def record_decision(
        self,
        user_id: str,
        decision: Mapping[str, Any],
        *,
        confidence: Optional[float] = None,
        agent_id: Optional[str] = None,
        category: str = "",
        urgency: str = "",
        summary: str = "",
        context: Optional[Mapping[str, Any]] = None,
        used_memory_ids: Iterable[str] = (),
    ) -> Memory:
        """A decision memory and its agent_decision event, in one commit."""
        request = memory_pb2.RecordDecisionRequest(
            agent_id=self._agent_or(agent_id),
            user_id=user_id,
            decision=dict_to_struct(decision),
            category=category,
            urgency=urgency,
            summary=summary,
            context=dict_to_struct(context),
            used_memory_ids=list(used_memory_ids),
        )
        if confidence is not None:
            request.confidence = confidence
        return self._call(self._memory.RecordDecision, request, lambda r: Memory.from_pb(r.memory))

    def handoff(
        self,
        user_id: str,
        to_agent: str,
        topic: str,
        *,
        from_agent: Optional[str] = None,
        context: Optional[Mapping[str, Any]] = None,
        reason: str = "",
        handoff_type: str = "",
        urgency: str = "",
        requires_response: Optional[bool] = None,
    ) -> Handoff:
        """Hands a person to another agent: agent_handoff and the receiver's memory, one commit."""
        request = memory_pb2.HandoffAgentRequest(
            user_id=user_id,
            from_agent=self._agent_or(from_agent),
            to_agent=to_agent,
            topic=topic,
            context=dict_to_struct(context),
            reason=reason,
            handoff_type=handoff_type,
            urgency=urgency,
        )
        if requires_response is not None:
            request.requires_response = requires_response
        return self._call(self._memory.HandoffAgent, request, lambda r: Handoff.from_pb(r.handoff))

    def pending_handoffs(
        self, *, agent_id: Optional[str] = None, user_id: str = "", limit: int = 0, page_token: str = ""
    ) -> Page[Handoff]:
        """A page of the handoffs an agent received and has not acknowledged, oldest first. Audited."""
        request = memory_pb2.ListPendingHandoffsRequest(
            agent_id=self._agent_or(agent_id), user_id=user_id, limit=limit, page_token=page_token
        )
        return self._call(
            self._memory.ListPendingHandoffs,
            request,
            lambda r: Page([Handoff.from_pb(h) for h in r.handoffs], r.next_page_token),
        )

    def acknowledge_handoff(self, handoff_id: str, *, note: str = "") -> Handoff:
        """Marks a handoff taken, by its receiving agent, once."""
        request = memory_pb2.AcknowledgeHandoffRequest(handoff_id=handoff_id, note=note)
        return self._call(self._memory.AcknowledgeHandoff, request, lambda r: Handoff.from_pb(r.handoff))

    def record_conversation_turn(
        self,
        user_id: str,
        message_context: Mapping[str, Any],
        *,
        conversation_id: str = "",
        agent_id: Optional[str] = None,
        insights: Iterable[Mapping[str, Any]] = (),
        follow_up_actions: Iterable[Mapping[str, Any]] = (),
    ) -> ConversationTurn:
        """One turn of a conversation (event conversation_turn); no conversation_id starts a new one."""
        request = memory_pb2.RecordConversationTurnRequest(
            conversation_id=conversation_id,
            agent_id=self._agent_or(agent_id),
            user_id=user_id,
            message_context=dict_to_struct(message_context),
            insights=[dict_to_struct(x) for x in insights],
            follow_up_actions=[dict_to_struct(x) for x in follow_up_actions],
        )
        return self._call(self._memory.RecordConversationTurn, request, lambda r: ConversationTurn.from_pb(r.turn))

    def conversation_turns(
        self,
        user_id: str,
        *,
        conversation_id: str = "",
        agent_id: str = "",
        since: Optional[datetime] = None,
        until: Optional[datetime] = None,
        newest_first: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[ConversationTurn]:
        """A page of a person's conversation turns recorded in [since, until), of one
        conversation or agent when given, oldest first (or newest first). Audited."""
        request = memory_pb2.ListConversationTurnsRequest(
            user_id=user_id,
            conversation_id=conversation_id,
            agent_id=agent_id,
            newest_first=newest_first,
            page_size=page_size,
            page_token=page_token,
        )
        if since is not None:
            getattr(request, "from").CopyFrom(timestamp(since))
        if until is not None:
            request.to.CopyFrom(timestamp(until))
        return self._call(
            self._memory.ListConversationTurns,
            request,
            lambda r: Page([ConversationTurn.from_pb(x) for x in r.turns], r.next_page_token),
        )

    def form_hypothesis(
        self,
        user_id: str,
        statement: str,
        confidence: float,
        *,
        agent_id: Optional[str] = None,
        evidence: Optional[Mapping[str, Any]] = None,
    ) -> Hypothesis:
        """A new hypothesis about a person (event hypothesis_formed)."""
        request = memory_pb2.RecordHypothesisRequest(
            agent_id=self._agent_or(agent_id),
            user_id=user_id,
            statement=statement,
            confidence=confidence,
            evidence=dict_to_struct(evidence),
        )
        return self._call(self._memory.RecordHypothesis, request, lambda r: Hypothesis.from_pb(r.hypothesis))

    def resolve_hypothesis(
        self,
        hypothesis_id: str,
        status: str,
        final_confidence: float,
        *,
        agent_id: Optional[str] = None,
        evidence: Optional[Mapping[str, Any]] = None,
        expected_version: Optional[int] = None,
    ) -> Hypothesis:
        """Validates or refutes a hypothesis ("validated" / "refuted"); ABORTED unless at expected_version when given."""
        request = memory_pb2.RecordHypothesisRequest(
            hypothesis_id=hypothesis_id,
            agent_id=self._agent_or(agent_id),
            status=_hypothesis_status(status),
            confidence=final_confidence,
            evidence=dict_to_struct(evidence),
        )
        if expected_version is not None:
            request.expected_version = expected_version
        return self._call(self._memory.RecordHypothesis, request, lambda r: Hypothesis.from_pb(r.hypothesis))

    def hypotheses(
        self, user_id: str, *, statuses: Iterable[str] = (), agent_id: str = "", limit: int = 0, page_token: str = ""
    ) -> Page[Hypothesis]:
        """A page of a person's hypotheses, newest first, by status. Audited."""
        request = memory_pb2.ListHypothesesRequest(
            user_id=user_id,
            statuses=[_hypothesis_status(s) for s in statuses],
            agent_id=agent_id,
            limit=limit,
            page_token=page_token,
        )
        return self._call(
            self._memory.ListHypotheses,
            request,
            lambda r: Page([Hypothesis.from_pb(h) for h in r.hypotheses], r.next_page_token),
        )

    def record_biometric_reading(
        self, user_id: str, source: str, data: Mapping[str, Any], *, measured_at: Optional[datetime] = None
    ) -> BiometricReading:
        """A reading of a person's body (event biometric_received)."""
        request = memory_pb2.RecordBiometricReadingRequest(user_id=user_id, source=source, data=dict_to_struct(data))
        if measured_at is not None:
            request.measured_at.CopyFrom(timestamp(measured_at))
        return self._call(self._memory.RecordBiometricReading, request, lambda r: BiometricReading.from_pb(r.reading))

    def biometric_readings(
        self,
        user_id: str,
        *,
        since: Optional[datetime] = None,
        until: Optional[datetime] = None,
        limit: int = 0,
        page_token: str = "",
    ) -> Page[BiometricReading]:
        """A page of a person's readings measured in [since, until), oldest first. Audited."""
        request = memory_pb2.ListBiometricReadingsRequest(user_id=user_id, limit=limit, page_token=page_token)
        if since is not None:
            getattr(request, "from").CopyFrom(timestamp(since))
        if until is not None:
            request.to.CopyFrom(timestamp(until))
        return self._call(
            self._memory.ListBiometricReadings,
            request,
            lambda r: Page([BiometricReading.from_pb(x) for x in r.readings], r.next_page_token),
        )

    def user_profile(self, user_id: str) -> UserProfile:
        """A person's profile. Audited."""
        request = memory_pb2.GetUserProfileRequest(user_id=user_id)
        return self._call(self._memory.GetUserProfile, request, lambda r: UserProfile.from_pb(r.profile))

    def upsert_user_profile(
        self,
        user_id: str,
        *,
        profile_data: Optional[Mapping[str, Any]] = None,
        preferences: Optional[Mapping[str, Any]] = None,
        privacy_settings: Optional[Mapping[str, Any]] = None,
        expected_version: Optional[int] = None,
    ) -> UserProfile:
        """Creates a profile or replaces the parts given; ABORTED unless at expected_version (0: new) when given."""
        request = memory_pb2.UpsertUserProfileRequest(user_id=user_id)
        for name, value in (("profile_data", profile_data), ("preferences", preferences), ("privacy_settings", privacy_settings)):
            if value is not None:
                getattr(request, name).CopyFrom(dict_to_struct(value))
        if expected_version is not None:
            request.expected_version = expected_version
        return self._call(self._memory.UpsertUserProfile, request, lambda r: UserProfile.from_pb(r.profile))

    def add_knowledge(
        self,
        domain: str,
        knowledge_type: str,
        content: Mapping[str, Any],
        confidence: float,
        *,
        agent_id: Optional[str] = None,
        evidence: Optional[Mapping[str, Any]] = None,
    ) -> Knowledge:
        """An item of specialist knowledge, pending validation (event knowledge_added)."""
        request = memory_pb2.AddKnowledgeRequest(
            agent_id=self._agent_or(agent_id),
            domain=domain,
            knowledge_type=knowledge_type,
            content=dict_to_struct(content),
            confidence=confidence,
            evidence=dict_to_struct(evidence),
        )
        return self._call(self._memory.AddKnowledge, request, lambda r: Knowledge.from_pb(r.knowledge))

    def validate_knowledge(
        self,
        knowledge_id: str,
        status: str,
        *,
        evidence: Optional[Mapping[str, Any]] = None,
        confidence: Optional[float] = None,
        expected_version: Optional[int] = None,
    ) -> Knowledge:
        """Validates or rejects an item ("validated" / "rejected")."""
        request = memory_pb2.ValidateKnowledgeRequest(knowledge_id=knowledge_id, status=_knowledge_status(status))
        if evidence is not None:
            request.evidence.CopyFrom(dict_to_struct(evidence))
        if confidence is not None:
            request.confidence = confidence
        if expected_version is not None:
            request.expected_version = expected_version
        return self._call(self._memory.ValidateKnowledge, request, lambda r: Knowledge.from_pb(r.knowledge))

    def knowledge(
        self,
        *,
        agent_id: str = "",
        domain: str = "",
        min_confidence: float = 0.0,
        statuses: Iterable[str] = (),
        limit: int = 0,
        page_token: str = "",
    ) -> Page[Knowledge]:
        """A page of specialist knowledge, most confident first."""
        request = memory_pb2.ListKnowledgeRequest(
            agent_id=agent_id,
            domain=domain,
            min_confidence=min_confidence,
            statuses=[_knowledge_status(s) for s in statuses],
            limit=limit,
            page_token=page_token,
        )
        return self._call(
            self._memory.ListKnowledge, request, lambda r: Page([Knowledge.from_pb(k) for k in r.items], r.next_page_token)
        )
