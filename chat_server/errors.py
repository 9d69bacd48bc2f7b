"""One exception root with machine-readable codes, mapped once to HTTP and WebSocket."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    CONFLICT = "conflict"
    GONE = "gone"  # a link that was used, revoked or has expired
    TOO_LATE = "too_late"  # an edit after the message's edit window (15 minutes)
    ROOM_CLOSED = "room_closed"  # a past conversation: its shopper started a new one
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.CONFLICT: 409,
    ErrorCode.GONE: 410,
    ErrorCode.TOO_LATE: 409,
    ErrorCode.ROOM_CLOSED: 409,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}


class SapaError(Exception):
    """Every refusal the service gives a client is one of these."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


def bad_request(message: str) -> SapaError:
    return SapaError(ErrorCode.BAD_REQUEST, message)


def not_found(what: str) -> SapaError:
    return SapaError(ErrorCode.NOT_FOUND, f"{what} not found")


def forbidden(message: str) -> SapaError:
    return SapaError(ErrorCode.FORBIDDEN, message)


class Unavailable(SapaError):
    """The database cannot be reached (down, restarting, unreachable): try again shortly.

    Raised by the store within a deadline instead of hanging; the gateway answers the frame
    with error `unavailable`, REST with 503. A write that failed this way was not
    acknowledged; resending it (same client_msg_id) is safe.
    """

    def __init__(self, message: str = "the database is unavailable; try again shortly") -> None:
        super().__init__(ErrorCode.UNAVAILABLE, message)
