"""Errors as the Kubernetes API reports them: `Status` objects with a code and a reason.

Clients decide what to do from `reason` and `code` (client-go's `IsNotFound`,
`IsConflict`, kubernetes-asyncio's exception classes), and people read `message`, so
each constructor here reproduces the apiserver's wording for that case
(`configmaps "web" not found`, `deployments.apps "web" already exists`). Every
failure the simulator answers with is an `ApiError` raised from wherever it is found
and turned into a response in one place, so a handler never builds an error body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Cause:
    """One entry of `details.causes`: which field is wrong and how."""

    reason: str
    message: str
    field: str = ""

    def to_json(self) -> dict[str, str]:
        cause = {"reason": self.reason, "message": self.message}
        if self.field:
            cause["field"] = self.field
        return cause


class ApiError(Exception):
    """A request failed; `status()` is the body the apiserver would send."""

    def __init__(
        self,
        *,
        code: int,
        reason: str,
        message: str,
        name: str = "",
        group: str = "",
        kind: str = "",
        causes: Sequence[Cause] = (),
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = tuple(causes)
        self.retry_after = retry_after

    def status(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        for key, value in (("name", self.name), ("group", self.group), ("kind", self.kind)):
            if value:
                details[key] = value
        if self.causes:
            details["causes"] = [cause.to_json() for cause in self.causes]
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if details:
            status["details"] = details
        status["code"] = self.code
        return status

    def __repr__(self) -> str:
        return f"ApiError({self.code} {self.reason}: {self.message!r})"


def success(*, name: str, group: str, resource: str, uid: str) -> dict[str, Any]:
    """The body of a delete that removed the object at once (most built-in kinds)."""
    details = {"name": name, "kind": resource, "uid": uid}
    if group:
        details["group"] = group
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _about(
    *, code: int, reason: str, resource: str, group: str, name: str, message: str
) -> ApiError:
    """An error about one object; details name it by resource (not kind), as the apiserver does."""
    return ApiError(
        code=code, reason=reason, message=message, name=name, group=group, kind=resource
    )


def not_found(*, resource: str, group: str, name: str) -> ApiError:
    message = f'{_qualified(resource, group)} "{name}" not found'
    return _about(code=404, reason="NotFound", resource=resource, group=group, name=name,
                  message=message)  # fmt: skip


def path_not_found() -> ApiError:
    return ApiError(
        code=404, reason="NotFound", message="the server could not find the requested resource"
    )


def already_exists(*, resource: str, group: str, name: str) -> ApiError:
    message = f'{_qualified(resource, group)} "{name}" already exists'
    return _about(code=409, reason="AlreadyExists", resource=resource, group=group, name=name,
                  message=message)  # fmt: skip


def conflict(*, resource: str, group: str, name: str, why: str) -> ApiError:
    message = f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}'
    return _about(code=409, reason="Conflict", resource=resource, group=group, name=name,
                  message=message)  # fmt: skip


def stale(*, resource: str, group: str, name: str) -> ApiError:
    """An update or patch that carried a resourceVersion other than the stored one."""
    return conflict(
        resource=resource,
        group=group,
        name=name,
        why="the object has been modified; please apply your changes to the latest version "
        "and try again",
    )


def invalid(*, kind: str, group: str, name: str, causes: Sequence[Cause]) -> ApiError:
    """422: the object is well-formed but breaks a rule; one cause per broken rule."""
    listed = ", ".join(f"{cause.field}: {cause.message}" for cause in causes)
    if len(causes) > 1:
        listed = f"[{listed}]"
    return ApiError(
        code=422,
        reason="Invalid",
        message=f'{_qualified(kind, group)} "{name}" is invalid: {listed}',
        name=name,
        group=group,
        kind=kind,
        causes=causes,
    )


def bad_request(message: str) -> ApiError:
    return ApiError(code=400, reason="BadRequest", message=message)


def expired(message: str) -> ApiError:
    return ApiError(code=410, reason="Expired", message=message)


def unauthorized() -> ApiError:
    return ApiError(code=401, reason="Unauthorized", message="Unauthorized")


def forbidden(*, resource: str, group: str, name: str, why: str) -> ApiError:
    message = f'{_qualified(resource, group)} "{name}" is forbidden: {why}'
    return _about(code=403, reason="Forbidden", resource=resource, group=group, name=name,
                  message=message)  # fmt: skip


def method_not_allowed(*, method: str, what: str) -> ApiError:
    return ApiError(
        code=405,
        reason="MethodNotAllowed",
        message=f"the server does not allow this method on the requested resource "
        f"({method} {what})",
    )


def unsupported_media_type(content_type: str, *, accepted: Sequence[str]) -> ApiError:
    return ApiError(
        code=415,
        reason="UnsupportedMediaType",
        message=f"the body of the request was in an unknown format - accepted media types "
        f'include: {", ".join(accepted)} (got "{content_type}")',
    )


def too_large(limit: int) -> ApiError:
    return ApiError(
        code=413,
        reason="RequestEntityTooLarge",
        message=f"Request entity too large: limit is {limit}",
    )


def timeout(message: str, *, retry_after: int = 1) -> ApiError:
    return ApiError(code=504, reason="Timeout", message=message, retry_after=retry_after)


def injected(code: int, *, retry_after: int) -> ApiError:
    """An error the fault settings asked for (500, 503 or 429)."""
    if code == 429:
        return ApiError(
            code=429,
            reason="TooManyRequests",
            message="Too many requests, please try again later.",
            retry_after=retry_after,
        )
    if code == 503:
        return ApiError(
            code=503,
            reason="ServiceUnavailable",
            message="the server is currently unable to handle the request",
            retry_after=retry_after,
        )
    return ApiError(
        code=code, reason="InternalError", message="Internal error occurred: injected fault"
    )


def internal(message: str) -> ApiError:
    return ApiError(code=500, reason="InternalError", message=f"Internal error occurred: {message}")
