"""The test API on FastAPI, served by uvicorn: `python fastapi_app.py PORT`."""

from __future__ import annotations

import sys

import _shared
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

app = FastAPI()


@app.post("/api/login")
async def login(request: Request) -> JSONResponse:
    status, payload = _shared.login(_shared.json_or_none(await request.body()))
    return JSONResponse(payload, status_code=status)


@app.get("/api/users/{user_id}")
async def user(user_id: int) -> JSONResponse:
    return JSONResponse(_shared.user(user_id))


@app.get("/api/me")
async def me(request: Request) -> JSONResponse:
    status, payload = _shared.me(request.headers.get("authorization"))
    return JSONResponse(payload, status_code=status)


@app.get("/api/search")
async def search(request: Request, q: str = "") -> JSONResponse:
    return JSONResponse(_shared.search(q, str(request.url)))


@app.post("/api/echo")
async def echo(request: Request) -> JSONResponse:
    return JSONResponse(_shared.echo(await request.body()))


@app.get("/api/stream")
async def stream(chunks: str | None = None, size: str | None = None) -> StreamingResponse:
    count, length = _shared.int_param(chunks, 10), _shared.int_param(size, 100)

    async def generate():  # an async generator of bytes
        for i in range(count):
            yield _shared.stream_chunk(i, length)

    return StreamingResponse(generate(), media_type=_shared.STREAM_MEDIA_TYPE)


@app.get("/api/big")
async def big(size: str | None = None) -> Response:
    return Response(_shared.big_body(_shared.int_param(size, 1_000_000)), media_type=_shared.BIG_MEDIA_TYPE)


@app.get("/health")
async def health() -> PlainTextResponse:
    return PlainTextResponse("ok")


def main() -> None:
    # reset_contextvars: without it uvicorn can start a request in the previous one's context (CPython
    # #140947) and its server span becomes an INTERNAL child of that request; see the README.
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", reset_contextvars=True)


if __name__ == "__main__":
    main()
