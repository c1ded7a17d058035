"""One error tree for the service; each class knows its HTTP status and a stable machine code.

TracerError                      500 internal_error
├── InputError                   400 invalid_input
│   ├── InvalidAddress           400 invalid_address
│   ├── UnsupportedChain         400 unsupported_chain
│   ├── UnsupportedFormat        400 unsupported_format
│   ├── MalformedInput           400 malformed_input   a known format, but broken content
│   ├── ImportRefused            400 import_refused    an import that would empty or silently replace data
│   ├── RequestTimeout           408 request_timeout   the body did not arrive in time
│   ├── PayloadTooLarge          413 payload_too_large
│   └── UnsupportedMediaType     415 unsupported_media_type
├── Unauthorized                 401 unauthorized      no API key, or an unknown one
├── Forbidden                    403 forbidden         the key's role lacks the right
├── NotFound                     404 not_found
├── RateLimited                  429 rate_limited      over the key's rate
├── AnswerTimeout                504 timeout           the answer took longer than its limit
├── ConfigError                  500 config_error
├── SourceError                  502 source_error      a node or file we read from failed
└── StoreError                   503 store_error       PostgreSQL failed (see tracer.store.errors)
    ├── StoreUnavailable         503 store_unavailable retriable
    ├── StoreConflict            409 store_conflict
    └── SchemaError              500 schema_error      migrations missing or inconsistent

The API middleware and the CLI both render these; nothing else catches them.
"""

from __future__ import annotations

from typing import ClassVar


class TracerError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    retriable: ClassVar[bool] = False

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InputError(TracerError):
    status = 400
    code = "invalid_input"


class InvalidAddress(InputError):
    code = "invalid_address"


class UnsupportedChain(InputError):
    code = "unsupported_chain"


class UnsupportedFormat(InputError):
    code = "unsupported_format"


class MalformedInput(InputError):
    code = "malformed_input"


class ImportRefused(InputError):
    code = "import_refused"


class RequestTimeout(InputError):
    status = 408
    code = "request_timeout"


class PayloadTooLarge(InputError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(InputError):
    status = 415
    code = "unsupported_media_type"


class Unauthorized(TracerError):
    status = 401
    code = "unauthorized"


class Forbidden(TracerError):
    status = 403
    code = "forbidden"


class RateLimited(TracerError):
    status = 429
    code = "rate_limited"


class AnswerTimeout(TracerError):
    status = 504
    code = "timeout"


class NotFound(TracerError):
    status = 404
    code = "not_found"


class ConfigError(TracerError):
    code = "config_error"


class SourceError(TracerError):
    status = 502
    code = "source_error"


class StoreError(TracerError):
    status = 503
    code = "store_error"


class StoreUnavailable(StoreError):
    code = "store_unavailable"
    retriable = True


class StoreConflict(StoreError):
    status = 409
    code = "store_conflict"


class SchemaError(StoreError):
    status = 500
    code = "schema_error"
