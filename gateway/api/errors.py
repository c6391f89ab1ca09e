"""The HTTP answer to each reason an action was not taken (`gateway.errors`)."""

from __future__ import annotations

import math

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from gateway.errors import (
    ActionError,
    ConflictError,
    InvalidError,
    NotFoundError,
    OwnerTimeoutError,
    UnavailableError,
)

STATUS: dict[type[ActionError], int] = {
    NotFoundError: status.HTTP_404_NOT_FOUND,
    ConflictError: status.HTTP_409_CONFLICT,
    InvalidError: 422,
    UnavailableError: status.HTTP_503_SERVICE_UNAVAILABLE,
    OwnerTimeoutError: status.HTTP_504_GATEWAY_TIMEOUT,
}


async def action_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ActionError)
    code = next((c for t, c in STATUS.items() if isinstance(exc, t)), status.HTTP_400_BAD_REQUEST)
    body: dict[str, object] = {"detail": exc.detail}
    if isinstance(exc, InvalidError) and exc.fields:
        body["fields"] = list(exc.fields)
    headers = None
    if isinstance(exc, UnavailableError):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
    return JSONResponse(body, status_code=code, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ActionError, action_error)
