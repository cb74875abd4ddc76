"""AurenMemoryStorage: CrewAI's storage methods (save, search, reset) for one agent, through
the service. It needs no CrewAI import: pass it wherever CrewAI takes a storage object.

The seed's adapter ran its coroutines on whatever event loop it found and returned nothing
from search inside a running loop. This one calls the service with grpcio's blocking API,
which needs no event loop: it answers the same inside a running loop (it blocks that loop's
thread for the call, a few milliseconds) and outside one. Code on a loop that must not block
awaits asave / asearch / areset, which run the same call on a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Mapping, Optional

from auren.client import AurenClient
from auren.model import MemoryType, SearchResult

# Keys of save()'s metadata that say where the memory goes, not what it is.
_ROUTING_KEYS = ("user_id", "confidence", "memory_type")


class AurenMemoryStorage:
    """The memories one agent keeps about people, with CrewAI's storage method names.

    agent_id: the agent whose memories these are (and the caller the service records);
    user_id: the person, when the storage is for one (save's metadata["user_id"] overrides it);
    client: an AurenClient (its connection is shared; the agent is set to agent_id).
    """

    def __init__(self, agent_id: str, user_id: Optional[str] = None, *, client: AurenClient) -> None:
        if not agent_id:
            raise ValueError("agent_id is required")
        self.agent_id = agent_id
        self.user_id = user_id
        self.client = client.as_agent(agent_id)

    def save(self, value: Any, metadata: Optional[Mapping[str, Any]] = None) -> str:
        """Stores value as a memory of this agent about the person; returns the memory's id.

        A CrewAI entity (anything with model_dump) becomes a fact {"entity_type", "data"};
        a dict is the content as it is; anything else {"value": value}, an analysis (the
        seed's rule). metadata["user_id"], ["confidence"] and ["memory_type"] route the
        memory; the other keys are kept as its metadata.
        """
        metadata = dict(metadata or {})
        user_id = metadata.get("user_id") or self.user_id
        if not user_id:
            raise ValueError("save needs a person: give user_id to AurenMemoryStorage or in metadata")
        kind: Any = metadata.get("memory_type")
        if hasattr(value, "model_dump"):
            content: Dict[str, Any] = {"entity_type": type(value).__name__, "data": value.model_dump()}
            kind = kind or MemoryType.FACT
        elif isinstance(value, Mapping):
            content = dict(value)
            kind = kind or MemoryType.ANALYSIS
        else:
            content = {"value": value}
            kind = kind or MemoryType.ANALYSIS
        confidence = metadata.get("confidence")
        memory = self.client.store_memory(
            str(user_id),
            kind,
            content,
            metadata={k: v for k, v in metadata.items() if k not in _ROUTING_KEYS},
            confidence=None if confidence is None else float(confidence),
        )
        return memory.id

    def search(
        self,
        query: str,
        limit: int = 3,
        filter: Optional[Mapping[str, Any]] = None,
        score_threshold: float = 0.0,
    ) -> List[Dict[str, Any]]:
        """This agent's memories about the person that match query, best first, at most limit,
        with a score of at least score_threshold (full-text ranks are small numbers, often
        below 0.1: the default keeps every match). filter["user_id"] overrides the person.
        Audited: the service records that this agent read them.

        Each result: {"id", "content", "context" (the text of value, when one), "score",
        "metadata": the memory's metadata plus memory_id, confidence, created_at, relevance}.
        """
        user_id = (filter or {}).get("user_id") or self.user_id or ""
        results = self.client.search_memories(
            query, agent_id=self.agent_id, user_id=str(user_id), limit=limit
        )
        return [_crew_result(result) for result in results if result.score >= score_threshold]

    def reset(self) -> int:
        """Deletes, softly, every live memory of this agent about this storage's person, each
        with a memory_deleted event naming the reset; returns how many. The memories stay in
        the log and the audit trail. A storage for no person refuses: a reset never reaches
        other people's memories."""
        if not self.user_id:
            raise ValueError("reset needs the storage's user_id: it deletes this agent's memories of one person")
        deleted = 0
        while True:
            page = self.client.list_memories(agent_id=self.agent_id, user_id=self.user_id, page_size=500)
            if not page.memories:
                return deleted
            for memory in page.memories:
                self.client.delete_memory(memory.id, reason=f"storage reset by {self.agent_id}")
                deleted += 1

    async def asave(self, value: Any, metadata: Optional[Mapping[str, Any]] = None) -> str:
        """save, on a worker thread: for code on an event loop that must not block."""
        return await asyncio.to_thread(self.save, value, metadata)

    async def asearch(
        self,
        query: str,
        limit: int = 3,
        filter: Optional[Mapping[str, Any]] = None,
        score_threshold: float = 0.0,
    ) -> List[Dict[str, Any]]:
        """search, on a worker thread."""
        return await asyncio.to_thread(self.search, query, limit, filter, score_threshold)

    async def areset(self) -> int:
        """reset, on a worker thread."""
        return await asyncio.to_thread(self.reset)


def _crew_result(result: SearchResult) -> Dict[str, Any]:
    memory = result.memory
    value = memory.content.get("value")
    return {
        "id": memory.id,
        "content": memory.content,
        "context": value if isinstance(value, str) else "",
        "score": result.score,
        "metadata": {
            **memory.metadata,
            "memory_id": memory.id,
            "confidence": memory.confidence,
            "created_at": memory.created_at.isoformat() if memory.created_at else None,
            "relevance": result.score,
        },
    }
