"""AurenClient: the service over grpcio's blocking API."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Tuple, TypeVar

import grpc

from auren import calls
from auren.calls import Caller, TailStart
from auren.errors import from_rpc_error
from auren.methods import ServiceMethods
from auren.model import Memory, MemoryTypeLike
from auren.tail import Tail, TailCursor
from auren.v1 import events_pb2_grpc, memory_pb2_grpc

T = TypeVar("T")


def open_channel(
    target: str,
    secure: bool,
    root_certificates: Optional[bytes],
    private_key: Optional[bytes],
    certificate_chain: Optional[bytes],
    options: Optional[Sequence[Tuple[str, Any]]],
    module: Any = grpc,
) -> Any:
    """A channel to target: TLS when secure or any certificate is given (grpc.secure_channel)."""
    if secure or root_certificates or private_key or certificate_chain:
        credentials = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
        return module.secure_channel(target, credentials, options=calls.channel_options(options))
    return module.insecure_channel(target, options=calls.channel_options(options))


class AurenClient(ServiceMethods):
    """A blocking client of AUREN's GRPC_PORT.

    agent names the caller (`x-auren-agent`); api_key is sent as `authorization: Bearer <key>`;
    secure / root_certificates (PEM bytes; None: the system's) and the client key and chain
    for mutual TLS use grpc.secure_channel. timeout bounds each unary call; with wait_for_ready
    a call made while the server restarts waits for it (within timeout) instead of failing at
    once with UNAVAILABLE. Every call raises an auren.AurenError subclass
    when refused, with the status code, the message and the error details.
    """

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
        channel: Optional[grpc.Channel] = None,
    ) -> None:
        self._owns_channel = channel is None
        self._channel = channel or open_channel(
            target, secure, root_certificates, private_key, certificate_chain, options
        )
        self._caller = Caller(agent, api_key)
        self._timeout = timeout
        self._wait_for_ready = wait_for_ready
        self._events = events_pb2_grpc.EventStoreServiceStub(self._channel)
        self._memory = memory_pb2_grpc.MemoryServiceStub(self._channel)

    def as_agent(self, agent: str) -> "AurenClient":
        """The same connection, calling as another agent."""
        return AurenClient(
            channel=self._channel,
            agent=agent,
            api_key=self._caller.api_key,
            timeout=self._timeout,
            wait_for_ready=self._wait_for_ready,
        )

    def _call(self, method: Any, request: Any, answer: Callable[[Any], T]) -> T:
        try:
            response = method(request, **self._call_options())
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return answer(response)

    def iter_memories(
        self,
        *,
        agent_id: str = "",
        user_id: str = "",
        types: Optional[Iterable[MemoryTypeLike]] = None,
        min_confidence: float = 0.0,
        include_expired: bool = False,
        page_size: int = 0,
    ) -> Iterator[Memory]:
        """Every memory that matches, newest first, page after page (each page audited)."""
        token = ""
        while True:
            page = self.list_memories(
                agent_id=agent_id,
                user_id=user_id,
                types=types,
                min_confidence=min_confidence,
                include_expired=include_expired,
                page_size=page_size,
                page_token=token,
            )
            yield from page.memories
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
    ) -> Tail:
        """Events of the whole log in order, then live ones as they commit, forever: after
        "start", "end" (only new ones) or a Position (exclusive). After a disconnect or a
        restarted server it subscribes again after the last position it saw, so no event is
        missed or repeated; it raises Unavailable once the service has not answered for
        give_up_after seconds. Close it (or leave the `with` block) to stop."""
        event_types = list(event_types or ())
        prefixes = list(stream_id_prefixes or ())
        return Tail(
            self._events.SubscribeToAll,
            lambda start: calls.subscribe_to_all(start, event_types, prefixes, checkpoint_interval),
            self._metadata(),
            TailCursor(after),
            give_up_after,
        )

    def close(self) -> None:
        """Closes the channel (when this client opened it)."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> "AurenClient":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()
