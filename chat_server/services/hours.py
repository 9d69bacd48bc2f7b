"""A site's business hours as the widget sees them: open or not, back when, the away
message and when to ask for an email address. Sent with the session, in every welcome
(so a reconnect reads them again) and answered by `/api/widget/hours` when a boundary
the widget was told about (`closes_at`, `reopens_at`) passes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chat_server.domain import business_hours
from chat_server.domain.models import Site


def hours_view(site: Site, now: datetime | None = None) -> dict[str, Any]:
    schedule = business_hours.stored(site.business_hours)
    state = business_hours.state_at(schedule, now or datetime.now(UTC))
    return {
        **state.to_json(),
        "reply_minutes": schedule.reply_minutes,
        "timezone": schedule.timezone,
    }


def away_config(site: Site, now: datetime | None = None) -> dict[str, Any]:
    return {
        "hours": hours_view(site, now),
        "away_message": site.away_message,
        "email_capture": {
            "after_minutes": site.email_settings.get("capture_after_minutes", 0),
        },
    }
