"""SAPA_FAQ_BURST_SECONDS: a clear refusal to start on a value out of range or not a number."""

from __future__ import annotations

import pytest

from chat_server.config import Settings


@pytest.mark.parametrize("value", [-1.0, 61.0])
def test_a_burst_window_out_of_range_is_refused(value: float) -> None:
    with pytest.raises(ValueError, match="SAPA_FAQ_BURST_SECONDS must be 0 to 60"):
        Settings(faq_burst_seconds=value)


def test_the_burst_window_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAPA_FAQ_BURST_SECONDS", "0")
    assert Settings.from_env().faq_burst_seconds == 0
    monkeypatch.delenv("SAPA_FAQ_BURST_SECONDS")
    assert Settings.from_env().faq_burst_seconds == 1.0
    monkeypatch.setenv("SAPA_FAQ_BURST_SECONDS", "soon")
    with pytest.raises(ValueError):
        Settings.from_env()
