"""HTTP API for apps that embed Genesis over the network (FastAPI, same process as the A2A server)."""

from __future__ import annotations

from .app import build_app

__all__ = ["build_app"]
