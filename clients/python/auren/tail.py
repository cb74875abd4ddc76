"""Tails of the whole log that survive a restarted server: each resumes after the last position
it saw, so its consumer sees every event once, in log order."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, AsyncIterator, Callable, Iterator, Optional

import grpc

from auren.calls import Metadata, TailStart
from auren.errors import AurenError, Unavailable, from_rpc_error
from auren.model import Event, Position
from auren.v1 import events_pb2

# What a broken connection or a stopping server looks like to a call: worth subscribing again.
# (A stopping server ends its tails with UNAVAILABLE; a connection reset reads as UNAVAILABLE,
# or as CANCELLED or INTERNAL when the stream was reset by the peer.)
_RESUMABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.INTERNAL}

Request = Callable[[TailStart], events_pb2.SubscribeToAllRequest]


class TailCursor:
    """Where a tail is in the log: the position to resume after, and whether it caught up."""

    def __init__(self, start: TailStart) -> None:
        self.start = start
        self.position: Optional[Position] = start if isinstance(start, Position) else None
        self.caught_up = False
        self.reconnects = 0

    def resume_from(self) -> TailStart:
        return self.position if self.position is not None else self.start

    def take(self, message: events_pb2.SubscribeToAllResponse) -> Optional[Event]:
        """The event a message carries, unless this tail has already passed its position."""
        kind = message.WhichOneof("message")
        if kind == "event":
            position = Position.from_pb(message.event.position)
            if self.position is not None and position <= self.position:
                return None
            self.position = position
            return Event.from_pb(message.event)
        marker = message.caught_up.position if kind == "caught_up" else message.checkpoint.position
        position = Position.from_pb(marker)
        if self.position is None or position > self.position:
            self.position = position
        if kind == "caught_up":
            self.caught_up = True
        return None


class _Backoff:
    """Waits between attempts to subscribe again: 0.1 s doubling to 2 s, and gives up when
    the service has not answered for `give_up_after` seconds."""

    def __init__(self, give_up_after: float) -> None:
        self.give_up_after = give_up_after
        self.failing_since: Optional[float] = None
        self.delay = 0.1

    def succeeded(self) -> None:
        self.failing_since = None
        self.delay = 0.1

    def next_delay(self, error: AurenError) -> float:
        now = time.monotonic()
        if self.failing_since is None:
            self.failing_since = now
        if now - self.failing_since > self.give_up_after:
            message = f"gave up resuming the tail after {self.give_up_after:g} s: {error.message}"
            raise Unavailable(error.code, message)
        delay, self.delay = self.delay, min(self.delay * 2, 2.0)
        return delay


def _resumable(error: grpc.RpcError) -> bool:
    return error.code() in _RESUMABLE  # type: ignore[attr-defined]


class Tail(Iterator[Event]):
    """An iterator over SubscribeToAll that subscribes again after a disconnect. `position` is
    the last position seen (an event's, a checkpoint's or the caught-up marker's): pass it as
    `after` to a new tail to go on from there; `caught_up` turns true once history is sent."""

    def __init__(
        self,
        subscribe: Callable[..., Any],
        request: Request,
        metadata: Metadata,
        cursor: TailCursor,
        give_up_after: float,
    ) -> None:
        self._subscribe = subscribe
        self._request = request
        self._metadata = metadata
        self._cursor = cursor
        self._backoff = _Backoff(give_up_after)
        self._closed = threading.Event()
        self._call: Any = None
        self._events = self._run()

    @property
    def position(self) -> Optional[Position]:
        return self._cursor.position

    @property
    def caught_up(self) -> bool:
        return self._cursor.caught_up

    @property
    def reconnects(self) -> int:
        """How many times the tail subscribed again after a disconnect."""
        return self._cursor.reconnects

    def __next__(self) -> Event:
        return next(self._events)

    def close(self) -> None:
        """Ends the tail (from any thread): the iteration stops."""
        self._closed.set()
        if self._call is not None:
            self._call.cancel()

    def __enter__(self) -> "Tail":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def _run(self) -> Iterator[Event]:
        while not self._closed.is_set():
            self._call = self._subscribe(self._request(self._cursor.resume_from()), metadata=self._metadata)
            try:
                for message in self._call:
                    self._backoff.succeeded()
                    event = self._cursor.take(message)
                    if event is not None:
                        yield event
                error = AurenError(grpc.StatusCode.UNAVAILABLE, "the server ended the tail")
            except grpc.RpcError as failure:
                if self._closed.is_set():
                    return
                if not _resumable(failure):
                    raise from_rpc_error(failure) from None
                error = from_rpc_error(failure)
            finally:
                self._call.cancel()
            if self._closed.wait(self._backoff.next_delay(error)):
                return
            self._cursor.reconnects += 1


class AsyncTail(AsyncIterator[Event]):
    """Tail for grpc.aio: `async for event in client.tail(...)`."""

    def __init__(
        self,
        subscribe: Callable[..., Any],
        request: Request,
        metadata: Metadata,
        cursor: TailCursor,
        give_up_after: float,
    ) -> None:
        self._subscribe = subscribe
        self._request = request
        self._metadata = metadata
        self._cursor = cursor
        self._backoff = _Backoff(give_up_after)
        self._closed = False
        self._call: Any = None
        self._events = self._run()

    @property
    def position(self) -> Optional[Position]:
        return self._cursor.position

    @property
    def caught_up(self) -> bool:
        return self._cursor.caught_up

    @property
    def reconnects(self) -> int:
        return self._cursor.reconnects

    async def __anext__(self) -> Event:
        return await self._events.__anext__()

    def close(self) -> None:
        """Ends the tail: the iteration stops."""
        self._closed = True
        if self._call is not None:
            self._call.cancel()

    async def __aenter__(self) -> "AsyncTail":
        return self

    async def __aexit__(self, *_: Any) -> None:
        self.close()

    async def _run(self) -> AsyncIterator[Event]:
        while not self._closed:
            self._call = self._subscribe(self._request(self._cursor.resume_from()), metadata=self._metadata)
            try:
                async for message in self._call:
                    self._backoff.succeeded()
                    event = self._cursor.take(message)
                    if event is not None:
                        yield event
                error = AurenError(grpc.StatusCode.UNAVAILABLE, "the server ended the tail")
            except asyncio.CancelledError:
                if self._closed:  # close() cancelled the call under the iteration
                    return
                raise
            except grpc.RpcError as failure:
                if self._closed:
                    return
                if not _resumable(failure):
                    raise from_rpc_error(failure) from None
                error = from_rpc_error(failure)
            finally:
                self._call.cancel()
            await asyncio.sleep(self._backoff.next_delay(error))
            self._cursor.reconnects += 1
