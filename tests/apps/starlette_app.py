"""The test API on Starlette, served by uvicorn: `python starlette_app.py PORT`."""

from __future__ import annotations

import sys

import _shared
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route


async def login(request: Request) -> JSONResponse:
    status, payload = _shared.login(_shared.json_or_none(await request.body()))
    return JSONResponse(payload, status_code=status)


async def user(request: Request) -> JSONResponse:
    return JSONResponse(_shared.user(request.path_params["user_id"]))


async def me(request: Request) -> JSONResponse:
    status, payload = _shared.me(request.headers.get("authorization"))
    return JSONResponse(payload, status_code=status)


async def search(request: Request) -> JSONResponse:
    return JSONResponse(_shared.search(request.query_params.get("q", ""), str(request.url)))


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(_shared.echo(await request.body()))


async def stream(request: Request) -> StreamingResponse:
    count = _shared.int_param(request.query_params.get("chunks"), 10)
    length = _shared.int_param(request.query_params.get("size"), 100)

    async def generate():  # an async generator of bytes
        for i in range(count):
            yield _shared.stream_chunk(i, length)

    return StreamingResponse(generate(), media_type=_shared.STREAM_MEDIA_TYPE)


async def big(request: Request) -> Response:
    size = _shared.int_param(request.query_params.get("size"), 1_000_000)
    return Response(_shared.big_body(size), media_type=_shared.BIG_MEDIA_TYPE)


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[
        Route("/api/login", login, methods=["POST"]),
        Route("/api/users/{user_id:int}", user, methods=["GET"]),
        Route("/api/me", me, methods=["GET"]),
        Route("/api/search", search, methods=["GET"]),
        Route("/api/echo", echo, methods=["POST"]),
        Route("/api/stream", stream, methods=["GET"]),
        Route("/api/big", big, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
)


def main() -> None:
    # reset_contextvars: without it uvicorn can start a request in the previous one's context (CPython
    # #140947) and its server span becomes an INTERNAL child of that request; see the README.
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", reset_contextvars=True)


if __name__ == "__main__":
    main()
