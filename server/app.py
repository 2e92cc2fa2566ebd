"""The custom HTTP app both servers mount (``http.app`` in langgraph.json: `langgraph dev` and
Aegra merge its lifespan with their own). It adds no route: its lifespan runs the people-in-the-loop
schedule (server/sweeper.py) in the server process while the server runs.
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
