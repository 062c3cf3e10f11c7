"""The server's connection limits and deadlines (``server`` applies them; the CLI shows them).

Kept apart from ``server`` so that `sketchrnn serve --help` needs no uvicorn import.
"""

from __future__ import annotations

HEADER_TIMEOUT_S = 10.0  # request headers complete this long after connecting or a response
BODY_TIMEOUT_S = 10.0  # the largest accepted body (256 KiB) at 25 KiB/s
KEEP_ALIVE_S = 5  # an idle keep-alive connection closes after this
MAX_CONNECTIONS = 256  # uvicorn's limit_concurrency: past it, requests get 503 at once
