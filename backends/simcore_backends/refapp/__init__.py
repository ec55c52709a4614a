"""The reference social app: FastAPI + SQLite implementing the API simcore drives.

``create_app(db_path)`` builds an app; ``app.app_from_env`` is the ``uvicorn --factory``
entry point.
"""

from __future__ import annotations

from .app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]
