"""The baseline of `bench/fanout.py`: a bare websocket broadcaster on starlette and uvicorn, as
kepuri's API is served. Clients connect to /ws and only listen; POST /send writes its body to every
connected client; GET /readyz answers once it serves. No GraphQL, no database, no Redis."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

clients: set[WebSocket] = set()


async def listen(websocket: WebSocket) -> None:
    await websocket.accept()
    clients.add(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        clients.discard(websocket)


async def send(request: Request) -> PlainTextResponse:
    message = (await request.body()).decode()
    await asyncio.gather(*(client.send_text(message) for client in list(clients)))
    return PlainTextResponse(str(len(clients)))


async def readyz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[
        WebSocketRoute("/ws", listen),
        Route("/send", send, methods=["POST"]),
        Route("/readyz", readyz),
    ]
)
