"""The HTTP answer to each reason an action was not taken (`gateway.errors`)."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from gateway.errors import ActionError, ConflictError, InvalidError, NotFoundError

STATUS: dict[type[ActionError], int] = {
    NotFoundError: status.HTTP_404_NOT_FOUND,
    ConflictError: status.HTTP_409_CONFLICT,
    InvalidError: 422,
}


async def action_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ActionError)
    code = next((c for t, c in STATUS.items() if isinstance(exc, t)), status.HTTP_400_BAD_REQUEST)
    body: dict[str, object] = {"detail": exc.detail}
    if isinstance(exc, InvalidError) and exc.fields:
        body["fields"] = list(exc.fields)
    return JSONResponse(body, status_code=code)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ActionError, action_error)
