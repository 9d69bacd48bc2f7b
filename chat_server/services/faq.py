"""FAQ use cases: curation, suggestions for agents and shoppers, and learning.

Each site has its own `faq.Engine`, built from its published entries. Every
change bumps the site's revision in the database, so each process (there may
be several) rebuilds its engine when it sees a newer revision.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from chat_server import errors
from chat_server.bus import Bus, Event
from chat_server.domain import audience
from chat_server.domain.access import Viewer, check_can_read
from chat_server.domain.faq_learning import (
    LEARN_WINDOW,
    LEARNT_REBUILD_INTERVAL,
    learnable_text,
    may_learn,
)
from chat_server.domain.faq_rules import FaqFields
from chat_server.domain.markdown import answer_text, render_answer
from chat_server.domain.models import Message, Room
from chat_server.ids import format_time, now_iso
from chat_server.services import audit
from chat_server.services.bursts import WINDOW_S, Bursts
from chat_server.services.faq_worker import SuggestWorker
from chat_server.store import faq as faq_store
from chat_server.store import rooms as room_store
from chat_server.store import sites as site_store
from chat_server.store.database import Database
from chat_server.store.faq import FaqEntry, FaqEvent
from chat_server.store.sql import Tx
from faq import Engine, Entry, Lexicon, Suggestion
from faq.semantic import Embedder

log = logging.getLogger(__name__)

MAX_QUERY = 500
T = TypeVar("T")
REVISION_TTL = 1.0  # seconds a process trusts its engine before re-reading the revision
RANKED_KEPT = 1024  # rankings each site's engine keeps


@dataclass(slots=True)
class _SiteEngine:
    revision: int
    engine: Engine
    entries: dict[str, FaqEntry]
    learnt: int = 0
    built_at: float = 0.0
    # This engine's rankings by (text, limit): shoppers send the same words again and again
    # ("ongkir ke medan?", "ready kak?"). Gone with the engine when the FAQ changes. Keyed
    # by the text exactly as written: folding case or spaces could change the ranking (the
    # question-type patterns read the text as written, "berapa  lama" is not "berapa lama").
    ranked: dict[tuple[str, int], list[Suggestion]] = field(default_factory=dict)

    def remember(self, key: tuple[str, int], found: list[Suggestion]) -> None:
        if len(self.ranked) >= RANKED_KEPT:
            del self.ranked[next(iter(self.ranked))]  # the oldest
        self.ranked[key] = found

    def stale(self, revision: int, learnt: int, now: float) -> bool:
        """Owners' changes apply at once; learnt phrasings in batches (LEARNT_REBUILD_INTERVAL)."""
        if revision != self.revision:
            return True
        return learnt != self.learnt and now - self.built_at >= LEARNT_REBUILD_INTERVAL


async def _somebody(site_id: str) -> Collection[str]:
    return ("?",)


def require_owner(viewer: Viewer) -> None:
    if viewer.role != "owner":
        raise errors.forbidden("only the site's owners may change the FAQ")


def entry_view(entry: FaqEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "question": entry.question,
        "answer": entry.answer,
        "answer_html": render_answer(entry.answer),
        "category": entry.category,
        "tags": list(entry.tags),
        "lang": entry.lang,
        "status": entry.status,
        "position": entry.position,
        "phrasings": [
            {"id": p.id, "text": p.text, "source": p.source, "created_at": p.created_at}
            for p in entry.phrasings
        ],
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }


class FaqService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        embedder: Embedder | None = None,
        burst_seconds: float = WINDOW_S,
    ) -> None:
        self.db = db
        self.bus = bus
        self.lexicon = Lexicon.default()
        # The process's embedding model (faq_worker.load_model), shared by every site's engine.
        self.embedder = embedder
        self.worker = SuggestWorker()
        self._engines: dict[str, _SiteEngine] = {}
        self._building: dict[str, asyncio.Lock] = {}
        self._checked: dict[str, float] = {}
        self.builds = 0  # engines built by this process, for /metrics
        self.rankings_reused = 0  # suggestions answered from an engine's kept rankings
        self.suggestions_skipped = 0  # shoppers' messages no agent was there to get them for
        # A shopper's burst of messages is ranked once (bursts.py): by room, and in a public
        # room by visitor too, so that one visitor's burst never hides another's question.
        self.bursts: Bursts[tuple[Room, Message, str | None]] = Bursts(
            self._suggest_later, burst_seconds
        )
        self._later: set[asyncio.Task[None]] = set()
        # The agents with a console open on any process (presence; the app sets it). Until
        # set, someone might be: suggestions are always made.
        self.connected_agents: Callable[[str], Awaitable[Collection[str]]] = _somebody
        self._epochs: dict[str, int] = {}  # changes made through this process, per site

    def _changed(self, site_id: str) -> None:
        self._checked.pop(site_id, None)
        self._epochs[site_id] = self._epochs.get(site_id, 0) + 1

    def changed(self, site_id: str) -> None:
        """Another service changed the site's FAQ (an erase): re-check before the next answer."""
        self._changed(site_id)

    async def _write(self, site_id: str, fn: Callable[[Tx], T]) -> T:
        """A write that may change the site's FAQ: this process re-checks its engine next time."""
        try:
            return await self.db.write(fn)
        finally:
            self._changed(site_id)

    # -- the engine -------------------------------------------------------------

    async def engine(self, site_id: str) -> _SiteEngine:
        current = self._engines.get(site_id)
        checked = self._checked.get(site_id, 0.0)
        # Changes made through this process drop the mark at once; another process's
        # changes are seen within REVISION_TTL, saving a database read per message.
        if current is not None and time.monotonic() - checked < REVISION_TTL:
            return current
        began, epoch = time.monotonic(), self._epochs.get(site_id, 0)
        revision, learnt = await faq_store.revision(self.db, site_id)
        if current is not None and not current.stale(revision, learnt, time.monotonic()):
            self._trust(site_id, began, epoch)
            return current
        lock = self._building.setdefault(site_id, asyncio.Lock())
        async with lock:
            current = self._engines.get(site_id)
            if current is not None and not current.stale(revision, learnt, time.monotonic()):
                self._trust(site_id, began, epoch)
                return current
            entries = [
                e for e in await faq_store.list_entries(self.db, site_id) if e.status == "published"
            ]
            site = await site_store.get_site(self.db, site_id)
            # The shop's own name is in half the questions and tells nothing apart.
            lexicon = self.lexicon.extended(stopwords=[site.name]) if site else self.lexicon
            # Stemming and embedding every entry is CPU work: keep it off the event loop.
            engine = await asyncio.to_thread(
                self._build, [self._engine_entry(e) for e in entries], lexicon
            )
            built = _SiteEngine(
                revision, engine, {e.id: e for e in entries}, learnt, time.monotonic()
            )
            self._engines[site_id] = built
            self.builds += 1
            self._trust(site_id, began, epoch)
            return built

    def _build(self, entries: list[Entry], lexicon: Lexicon) -> Engine:
        return Engine(entries, lexicon, embedder=self.embedder)

    def close(self) -> None:
        self.bursts.close()
        for task in self._later:
            task.cancel()
        self.worker.close()

    def _trust(self, site_id: str, began: float, epoch: int) -> None:
        """The engine is as new as the revision read at `began`: trust it for REVISION_TTL,
        unless this process changed the FAQ meanwhile (that change may be newer)."""
        if self._epochs.get(site_id, 0) == epoch:
            self._checked[site_id] = began

    @staticmethod
    def _engine_entry(entry: FaqEntry) -> Entry:
        return Entry(
            entry.id,
            entry.question,
            entry.answer,
            entry.category,
            entry.tags,
            entry.lang,
            tuple(p.text for p in entry.phrasings),
        )

    async def suggest(
        self, site_id: str, text: str, limit: int = 3
    ) -> tuple[list[dict[str, Any]], float]:
        """Ranked suggestions (weak ones included) and the bar for a good answer.

        Every caller goes through here, so the model's budget (faq_worker) holds for all.
        """
        site = await self.engine(site_id)
        key = (text[:MAX_QUERY], limit)
        found = site.ranked.get(key)
        if found is not None:
            self.rankings_reused += 1
        else:
            found, full = await self.worker.rank(site.engine, key[0], limit)
            if full:
                site.remember(key, found)
        items = []
        for suggestion in found:
            entry = site.entries.get(suggestion.faq_id)
            if entry is None:
                continue
            items.append(
                {
                    "faq_id": entry.id,
                    "question": entry.question,
                    "answer": entry.answer,
                    "answer_html": render_answer(entry.answer),
                    "answer_text": answer_text(entry.answer),
                    "score": round(suggestion.score, 4),
                    "matched_terms": list(suggestion.matched_terms),
                }
            )
        return items, site.engine.threshold

    async def answers(self, site_id: str, text: str, limit: int = 3) -> list[dict[str, Any]]:
        items, threshold = await self.suggest(site_id, text, limit)
        return [item for item in items if item["score"] >= threshold]

    # -- live suggestions ---------------------------------------------------------

    async def on_customer_message(self, room: Room, message: Message) -> None:
        """Suggest answers to the agents always, and to the shopper while nobody has answered.

        In a public room the answers go to the visitor who asked, never to the room.
        """
        if message.kind != "text" or message.author.kind != "customer" or not message.body.strip():
            return  # a photo without words asks nothing the FAQ could answer
        asker: str | None = None
        if room.kind == "public":
            asker = message.author.id
        elif room.kind == "private" and room.status == "queued" and room.customer_id:
            asker = room.customer_id
        if asker is None and not await self.connected_agents(room.site_id):
            # Nobody would see them: a console opened later asks for them (room_suggestions).
            self.suggestions_skipped += 1
            return
        if self.bursts.offer(
            (room.id, asker if room.kind == "public" else None), (room, message, asker)
        ):
            await self._suggest(room, message, asker)

    def _suggest_later(self, held: tuple[Room, Message, str | None]) -> None:
        """A burst's latest message, ranked when its window ends."""
        task = asyncio.get_running_loop().create_task(self._suggest_logged(*held))
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def _suggest_logged(self, room: Room, message: Message, asker: str | None) -> None:
        try:
            await self._suggest(room, message, asker)
        except Exception:
            log.exception("FAQ suggestions for a burst's latest message failed")

    async def _suggest(self, room: Room, message: Message, asker: str | None) -> None:
        """Rank the message; the agents get the suggestions, and `asker` the good ones."""
        items, threshold = await self.suggest(room.site_id, message.body, 3)
        base = {"type": "suggestions", "room_id": room.id, "for_message_id": message.id}
        await self.bus.publish(
            Event.frame(room.site_id, (audience.AGENTS,), {**base, "items": items})
        )
        good = [item for item in items if item["score"] >= threshold]
        if asker is None or not good:
            return

        def shown(conn: Tx) -> list[int]:
            return [
                faq_store.record_event(
                    conn, room.site_id, item["faq_id"], "shown", room.id, message.id
                )
                for item in good
            ]

        # Recorded before the shopper sees it, so reports never miss a card on screen. A
        # record of what the FAQ showed is nobody's work: it need not wait for the disk
        # (docs/operations.md, "What a power cut can lose"), and at a steady rate it would
        # otherwise cost a second fsync per shopper message.
        event_ids = await self.db.write(shown, wait_for_disk=False)
        await self.bus.publish(
            Event.frame(room.site_id, (audience.customer(asker),), {**base, "items": good})
        )
        if room.kind == "private":
            at = message.created_at
            for event_id, item in zip(event_ids, good, strict=True):
                await self.publish_activity(
                    room.site_id,
                    room.id,
                    FaqEvent(event_id, "shown", item["faq_id"], item["question"], message.id, at),
                )

    async def publish_activity(self, site_id: str, room_id: str, event: FaqEvent) -> None:
        """Tell the site's agents what a shopper was shown or did (the console's transcript)."""
        payload = {"type": "activity", "room_id": room_id, "item": event.to_json()}
        await self.bus.publish(Event.frame(site_id, (audience.AGENTS,), payload))

    async def room_suggestions(self, viewer: Viewer, room_id: str) -> dict[str, Any]:
        """The suggestions for the room's latest customer message, as the live event has them.

        An agent who opens a conversation (or reloads) sees what the live event would have shown.
        """
        room = check_can_read(viewer, await room_store.get_room(self.db, viewer.site_id, room_id))
        latest = await room_store.latest_customer_message(self.db, room.id)
        if latest is None:
            return {"room_id": room.id, "for_message_id": None, "items": []}
        items, _ = await self.suggest(room.site_id, latest.body, 3)
        return {"room_id": room.id, "for_message_id": latest.id, "items": items}

    async def learn(
        self, site_id: str, faq_id: str, message_id: str, kind: str, room_id: str | None
    ) -> int:
        """Keep the shopper's own words as a phrasing of the entry that answered them.

        Within limits (domain/faq_learning.py): never contact data, never too much from one
        shopper or into one entry; the engine picks learnt phrasings up in batches. Answers
        the recorded event's id.
        """

        def job(conn: Tx) -> int:
            event_id = faq_store.record_event(conn, site_id, faq_id, kind, room_id, message_id)
            if kind in ("used", "helpful"):
                _learn_words(conn, site_id, faq_id, message_id)
            return event_id

        return await self._write(site_id, job)

    async def feedback(
        self, viewer: Viewer, faq_id: str, helpful: bool, for_message_id: str | None
    ) -> None:
        entry = await faq_store.get_entry(self.db, viewer.site_id, faq_id)
        if entry is None:
            raise errors.not_found("FAQ entry")
        room_id = room_kind = None
        if for_message_id is not None:
            place = await room_store.authored_message_place(
                self.db, viewer.site_id, for_message_id, viewer.id
            )
            if place is None:
                raise errors.not_found("message")
            room_id, room_kind = place.room_id, place.room_kind
        kind = "helpful" if helpful else "not_helpful"
        if (
            helpful
            and for_message_id is not None
            and not await faq_store.was_shown(self.db, faq_id, for_message_id)
        ):
            # Only an answer we offered for that message may learn from it: no junk phrasings.
            for_message_id = None
        message_id = for_message_id

        def job(conn: Tx) -> tuple[int, str | None]:
            # One vote per shopper and suggestion: a repeat, or a change of mind, replaces it.
            event_id, before = faq_store.record_vote(
                conn, viewer.site_id, faq_id, kind, viewer.id, room_id, message_id
            )
            if helpful and message_id is not None and before != "helpful":
                _learn_words(conn, viewer.site_id, faq_id, message_id)
            return event_id, before

        event_id, before = await self._write(viewer.site_id, job)
        if message_id is not None and room_id is not None and room_kind == "private":
            if before != kind:  # a repeated vote changed nothing to show
                vote = FaqEvent(event_id, kind, faq_id, entry.question, message_id, now_iso())
                await self.publish_activity(viewer.site_id, room_id, vote)

    # -- curation -----------------------------------------------------------------

    async def entries(self, viewer: Viewer) -> list[FaqEntry]:
        return await faq_store.list_entries(self.db, viewer.site_id)

    async def get(self, viewer: Viewer, entry_id: str) -> FaqEntry:
        entry = await faq_store.get_entry(self.db, viewer.site_id, entry_id)
        if entry is None:
            raise errors.not_found("FAQ entry")
        return entry

    async def create(
        self, viewer: Viewer, fields: FaqFields, source_message_id: str | None = None
    ) -> FaqEntry:
        require_owner(viewer)
        entry_id = await self._write(
            viewer.site_id,
            audit.recorded(
                lambda conn: faq_store.insert_entry(
                    conn, viewer.site_id, fields, source_message_id
                ),
                viewer,
                "faq_published",
                target=lambda made: made,
                when=lambda _: fields.status in (None, "published"),
            ),
        )
        return await self.get(viewer, entry_id)

    async def update(self, viewer: Viewer, entry_id: str, fields: FaqFields) -> FaqEntry:
        require_owner(viewer)
        if not await self._write(
            viewer.site_id,
            audit.recorded(
                lambda conn: faq_store.update_entry(conn, viewer.site_id, entry_id, fields),
                viewer,
                "faq_published",
                entry_id,
                when=lambda done: bool(done) and fields.status == "published",
            ),
        ):
            raise errors.not_found("FAQ entry")
        return await self.get(viewer, entry_id)

    async def delete(self, viewer: Viewer, entry_id: str) -> None:
        require_owner(viewer)
        if not await self._write(
            viewer.site_id,
            audit.recorded(
                lambda conn: faq_store.delete_entry(conn, viewer.site_id, entry_id),
                viewer,
                "faq_deleted",
                entry_id,
            ),
        ):
            raise errors.not_found("FAQ entry")

    async def reorder(self, viewer: Viewer, ids: list[str]) -> None:
        require_owner(viewer)
        if (
            await self._write(
                viewer.site_id,
                audit.recorded(
                    lambda conn: faq_store.reorder(conn, viewer.site_id, ids),
                    viewer,
                    "faq_reordered",
                    when=lambda moved: moved >= 0,
                ),
            )
            < 0
        ):
            raise errors.not_found("FAQ entry")

    async def add_phrasing(self, viewer: Viewer, entry_id: str, text: str) -> FaqEntry:
        require_owner(viewer)
        await self.get(viewer, entry_id)
        await self._write(
            viewer.site_id,
            lambda conn: faq_store.add_phrasing(conn, viewer.site_id, entry_id, text, "manual"),
        )
        return await self.get(viewer, entry_id)

    async def delete_phrasing(self, viewer: Viewer, entry_id: str, phrasing_id: str) -> FaqEntry:
        require_owner(viewer)
        done = await self._write(
            viewer.site_id,
            lambda conn: faq_store.delete_phrasing(conn, viewer.site_id, entry_id, phrasing_id),
        )
        if not done:
            raise errors.not_found("phrasing")
        return await self.get(viewer, entry_id)

    async def import_entries(self, viewer: Viewer, entries: list[FaqFields]) -> int:
        """All or nothing: one transaction for the whole file."""
        require_owner(viewer)

        def job(conn: Tx) -> int:
            for fields in entries:
                faq_store.insert_entry(conn, viewer.site_id, fields)
            return len(entries)

        detail = {"entries": len(entries)}
        return await self._write(
            viewer.site_id, audit.recorded(job, viewer, "faq_imported", detail=detail)
        )


def _learn_words(conn: Tx, site_id: str, faq_id: str, message_id: str) -> None:
    """A shopper's message as a learnt phrasing of an entry, when the limits allow it."""
    found = faq_store.customer_words(conn, site_id, message_id)
    if found is None:
        return
    body, author_id = found
    text = learnable_text(body)
    if text is None:
        return
    since = format_time(datetime.now(UTC) - LEARN_WINDOW)
    if may_learn(faq_store.learning_counts(conn, site_id, faq_id, author_id, since)):
        # The source is kept so that erasing the customer finds this copy of their words.
        faq_store.add_phrasing(
            conn, site_id, faq_id, text, "learnt", source=(message_id, author_id)
        )
