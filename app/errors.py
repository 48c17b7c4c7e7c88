"""The two shapes of failure every interface reports the same way."""

from __future__ import annotations


class FieldError(ValueError):
    """Bad input; ``field`` names where it was (the API's ``error.field``, the CLI's message)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ServiceError(Exception):
    """A failure with the HTTP status and error code an interface answers it with."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
