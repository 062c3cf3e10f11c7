"""The FastAPI application: the page, three JSON endpoints, one error shape.

Why FastAPI + uvicorn: small and well kept, pydantic-native (the request models in ``schemas``
are the validation), and an ASGI app can be tested in-process with ``TestClient``.

Every error reply is ``{"error": "..."}``: 413 oversized body (checked on the raw bytes, before
parsing), 422 invalid input, 404 unknown category, 503 no trained model (with the command that
trains one), 408 a body that stalls, 500 for a bug (logged, never a crash). Past the connection
limit uvicorn itself answers 503 in plain text, before the app runs (``server``). Model calls
run in worker threads, one per usable core (``limits``), so a slow completion never blocks the
event loop or other requests.
"""

from __future__ import annotations

import logging

import anyio
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from sketchrnn.errors import SketchRNNError
from sketchrnn.serve.models import ServeError, ServeModels
from sketchrnn.serve.schemas import MAX_BODY_BYTES, PredictRequest, SampleRequest
from sketchrnn.serve.limits import BODY_TIMEOUT_S, usable_cores

log = logging.getLogger(__name__)
STATIC = resources.files("sketchrnn.serve") / "static"


class BodyLimit:
    """ASGI middleware: reads at most ``max_bytes`` of a request body within ``timeout`` seconds,
    else answers 413 (too big) or 408 (too slow, and the connection is closed).

    The declared Content-Length is checked first; a chunked body is counted as it arrives, so a
    client cannot make the server buffer more than the limit either way, nor hold a connection
    and a task by sending its body slowly or not at all.
    """

    def __init__(self, app: Any, max_bytes: int = MAX_BODY_BYTES,
                 timeout: float = BODY_TIMEOUT_S) -> None:
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._reject(scope, receive, send)
        try:
            with anyio.fail_after(self.timeout):
                body = await self._read(receive)
        except TimeoutError:
            response = error(408, f"request body not complete within {self.timeout:g} s; send "
                             "the whole body at once")
            response.headers["connection"] = "close"
            return await response(scope, receive, send)
        if body is None:  # the client went away
            return None
        if len(body) > self.max_bytes:
            return await self._reject(scope, receive, send)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _read(self, receive: Any) -> bytes | None:
        """The whole body, or the first chunks past ``max_bytes``; None on a disconnect."""
        chunks, size, more = [], 0, True
        while more and size <= self.max_bytes:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def _reject(self, scope: dict, receive: Any, send: Any) -> None:
        response = error(413, f"request body over {self.max_bytes} bytes; send a smaller sketch")
        await response(scope, receive, send)


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - 5
    return "invalid request: " + "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def create_app(models: ServeModels, *, body_timeout: float = BODY_TIMEOUT_S) -> FastAPI:
    """The application over already-loaded ``models`` (the CLI loads them from ``--runs``);
    a request body must arrive within ``body_timeout`` seconds."""

    app = FastAPI(title="sketchrnn", docs_url=None, redoc_url=None, openapi_url=None)
    limiter = anyio.CapacityLimiter(usable_cores())  # model calls at once (limits docstring)

    async def run(func: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(lambda: func(*args), limiter=limiter)

    @app.exception_handler(SketchRNNError)
    async def _known(request: Request, exc: SketchRNNError) -> JSONResponse:
        return error(exc.status if isinstance(exc, ServeError) else 422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, _validation_message(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("serve: %s %s failed", request.method, request.url.path)
        return error(500, f"internal error: {type(exc).__name__}")

    @app.get("/")
    async def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), headers={"Cache-Control": "no-cache"})

    @app.get("/api/models")
    async def get_models() -> JSONResponse:
        if models.empty:
            return error(503, models.missing())
        return JSONResponse(models.describe())

    @app.post("/api/predict")
    async def predict(body: PredictRequest) -> JSONResponse:
        out = await run(models.predict, body.strokes, body.top_k, body.complete, body.category,
                        body.seed, body.temperature, body.temperature_style)
        return JSONResponse(out)

    @app.post("/api/sample")
    async def sample(body: SampleRequest) -> JSONResponse:
        if models.empty:
            raise ServeError(models.missing(), status=503)
        return JSONResponse(await run(models.sample, body.category, body.n, body.temperature,
                                      body.seed, body.temperature_style))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.add_middleware(BodyLimit, timeout=body_timeout)  # outermost: runs before routing and JSON parsing
    return app
