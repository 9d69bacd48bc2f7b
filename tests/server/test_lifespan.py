"""Start-up and shutdown of the whole app, as uvicorn drives them."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_server.config import Settings
from chat_server.web.app import create_app


async def test_the_app_starts_and_shuts_down_cleanly(tmp_path: Path) -> None:
    app = create_app(Settings(db_path=str(tmp_path / "sapa.db"), faq_model="off"))
    async with app.router.lifespan_context(app):
        ctx = app.state.ctx
        assert ctx.db is not None
    # Shutdown ran to its end (one yield): the store is closed, so a write is refused.
    with pytest.raises(RuntimeError):
        await ctx.db.write(lambda conn: None)
