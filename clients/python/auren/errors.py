"""Refusals of the service as Python exceptions, one class per gRPC status code.

The service sends a google.rpc.Status in the `grpc-status-details-bin` trailer: an ErrorInfo
(reason, domain "auren.v1", facts) and, for a bad field, a BadRequest naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple, Type

import grpc

from auren.google.rpc import error_details_pb2, status_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldViolation:
    """A bad field of a request (google.rpc.BadRequest.FieldViolation)."""

    field: str
    description: str
    reason: str


class AurenError(Exception):
    """A call the service refused or that could not reach it.

    code: the grpc.StatusCode; message: the status message; reason, domain, metadata: from the
    google.rpc.ErrorInfo (empty when none was sent); field_violations: from google.rpc.BadRequest.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        reason: str = "",
        domain: str = "",
        metadata: Optional[Dict[str, str]] = None,
        field_violations: Optional[List[FieldViolation]] = None,
    ) -> None:
        super().__init__(f"{code.name}: {message}" + (f" ({reason})" if reason else ""))
        self.code = code
        self.message = message
        self.reason = reason
        self.domain = domain
        self.metadata: Dict[str, str] = dict(metadata or {})
        self.field_violations: List[FieldViolation] = list(field_violations or [])

    @property
    def field(self) -> Optional[str]:
        """The first bad field the service named, if any."""
        return self.field_violations[0].field if self.field_violations else None


class Cancelled(AurenError):
    """CANCELLED."""


class InvalidArgument(AurenError):
    """INVALID_ARGUMENT: the request is wrong; `field` names what."""


class DeadlineExceeded(AurenError):
    """DEADLINE_EXCEEDED."""


class NotFound(AurenError):
    """NOT_FOUND."""


class AlreadyExists(AurenError):
    """ALREADY_EXISTS."""


class PermissionDenied(AurenError):
    """PERMISSION_DENIED."""


class ResourceExhausted(AurenError):
    """RESOURCE_EXHAUSTED: a limit of the service."""


class FailedPrecondition(AurenError):
    """FAILED_PRECONDITION."""


class Aborted(AurenError):
    """ABORTED: a concurrency check failed (wrong expected version)."""


class Unavailable(AurenError):
    """UNAVAILABLE: the service (or its database) cannot answer now; retry later."""


class Unauthenticated(AurenError):
    """UNAUTHENTICATED: no or a bad API key."""


_CLASSES: Dict[grpc.StatusCode, Type[AurenError]] = {
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ABORTED: Aborted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
}


def error_of(
    code: grpc.StatusCode, message: str, trailers: Optional[Iterable[Tuple[str, Any]]]
) -> AurenError:
    """The exception for a status, with the details its trailers carry."""
    reason = domain = ""
    metadata: Dict[str, str] = {}
    violations: List[FieldViolation] = []
    for key, value in trailers or ():
        if key != STATUS_DETAILS_KEY:
            continue
        status = status_pb2.Status.FromString(value)
        message = status.message or message
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            bad_request = error_details_pb2.BadRequest()
            if detail.Unpack(info):
                reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
            elif detail.Unpack(bad_request):
                violations.extend(
                    FieldViolation(field=v.field, description=v.description, reason=v.reason)
                    for v in bad_request.field_violations
                )
    return _CLASSES.get(code, AurenError)(code, message, reason, domain, metadata, violations)


def from_rpc_error(error: grpc.RpcError) -> AurenError:
    """The exception for a failed call of grpcio (sync or grpc.aio)."""
    call: Any = error
    return error_of(call.code(), call.details() or "", call.trailing_metadata())
