"""AsyncAurenClient: the service over grpc.aio. Its calls are the same as AurenClient's, awaited."""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable, Iterable, Optional, Sequence, Tuple, TypeVar

import grpc
import grpc.aio

from auren import calls
from auren.calls import Caller, TailStart
from auren.client import open_channel
from auren.errors import from_rpc_error
from auren.methods import ServiceMethods
from auren.model import Memory, MemoryTypeLike
from auren.tail import AsyncTail, TailCursor
from auren.v1 import events_pb2_grpc, memory_pb2_grpc

T = TypeVar("T")


class AsyncAurenClient(ServiceMethods):
    """A grpc.aio client of AUREN's GRPC_PORT: `await client.store_memory(...)`; the same
    arguments and answers as AurenClient. Create it inside the event loop that uses it."""

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        agent: Optional[str] = None,
        api_key: Optional[str] = None,
        secure: bool = False,
        root_certificates: Optional[bytes] = None,
        private_key: Optional[bytes] = None,
        certificate_chain: Optional[bytes] = None,
        timeout: Optional[float] = 30.0,
        wait_for_ready: bool = True,
        options: Optional[Sequence[Tuple[str, Any]]] = None,
        channel: Optional[grpc.aio.Channel] = None,
    ) -> None:
        self._owns_channel = channel is None
        self._channel = channel or open_channel(
            target, secure, root_certificates, private_key, certificate_chain, options, module=grpc.aio
        )
        self._caller = Caller(agent, api_key)
        self._timeout = timeout
        self._wait_for_ready = wait_for_ready
        self._events = events_pb2_grpc.EventStoreServiceStub(self._channel)
        self._memory = memory_pb2_grpc.MemoryServiceStub(self._channel)

    def as_agent(self, agent: str) -> "AsyncAurenClient":
        """The same connection, calling as another agent."""
        return AsyncAurenClient(
            channel=self._channel,
            agent=agent,
            api_key=self._caller.api_key,
            timeout=self._timeout,
            wait_for_ready=self._wait_for_ready,
        )

    async def _call(self, method: Any, request: Any, answer: Callable[[Any], T]) -> T:  # type: ignore[override]
        try:
            response = await method(request, **self._call_options())
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return answer(response)

    async def iter_memories(
        self,
        *,
        agent_id: str = "",
        user_id: str = "",
        types: Optional[Iterable[MemoryTypeLike]] = None,
        min_confidence: float = 0.0,
        include_expired: bool = False,
        page_size: int = 0,
    ) -> AsyncIterator[Memory]:
        """Every memory that matches, newest first, page after page (each page audited)."""
        token = ""
        while True:
            page = await self.list_memories(  # type: ignore[misc]
                agent_id=agent_id,
                user_id=user_id,
                types=types,
                min_confidence=min_confidence,
                include_expired=include_expired,
                page_size=page_size,
                page_token=token,
            )
            for memory in page.memories:
                yield memory
            if not page.next_page_token:
                return
            token = page.next_page_token

    def tail(
        self,
        after: TailStart = "start",
        *,
        event_types: Optional[Iterable[str]] = None,
        stream_id_prefixes: Optional[Iterable[str]] = None,
        checkpoint_interval: int = 0,
        give_up_after: float = 60.0,
    ) -> AsyncTail:
        """As AurenClient.tail: `async for event in client.tail()`."""
        event_types = list(event_types or ())
        prefixes = list(stream_id_prefixes or ())
        return AsyncTail(
            self._events.SubscribeToAll,
            lambda start: calls.subscribe_to_all(start, event_types, prefixes, checkpoint_interval),
            self._metadata(),
            TailCursor(after),
            give_up_after,
        )

    async def close(self) -> None:
        """Closes the channel (when this client opened it)."""
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> "AsyncAurenClient":
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.close()
