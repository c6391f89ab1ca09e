"""FastAPI dependencies as `Annotated` aliases: the gateway behind the routes.

Who acts is `gateway.api.security.CurrentActor`: the verified token, never a header or body.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.runtime.service import Gateway


def get_gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
