"""The server process's own schedule: the lifespan the pages' app (`web/app.py`, ``http.app`` in
langgraph.json) hands both servers, which run the people-in-the-loop sweep (server/sweeper.py)
while the server runs. ``app`` mounts it alone, for a deployment without the pages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from core.settings import get_settings
from server.sweeper import run_schedule


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    task = asyncio.create_task(run_schedule(settings)) if settings.sweep_interval_s > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


app = FastAPI(lifespan=lifespan)  # Aegra accepts only FastAPI apps; langgraph dev takes any Starlette app
