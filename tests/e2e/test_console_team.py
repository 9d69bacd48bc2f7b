"""Running a team in the browser: the owner copies the embed code and invites an agent; the
agent accepts, turns on two-factor sign-in and signs in with a code computed here by the same
TOTP algorithm; the owner deactivates them and their open console says they were signed out;
the audit page lists every step. And: two-factor turned on while accepting, reset by an owner."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import timeout
from tests.e2e.test_console_product import english, login

PASSWORD = "a long team passphrase"


@pytest.fixture
def second_page(browser: Browser) -> Iterator[Page]:
    """The invited agent's own browser (its own cookies)."""
    context = browser.new_context()
    context.set_default_timeout(timeout(10) * 1000)
    page = context.new_page()
    yield page
    context.close()


def code_for(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).generate_otp(int(time.time() // 30) + steps_ahead)


def test_invite_accept_two_factor_deactivate_and_audit(
    page: Page, second_page: Page, live_server
) -> None:
    english(page)
    english(second_page)
    login(page, live_server)

    # The owner copies the embed code from Settings.
    page.goto(f"{live_server.url}/console/settings")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_test_id("install-copy").click()
    assert "data-site" in page.evaluate("navigator.clipboard.readText()")
    # ... finds the user_hash snippets and rotates the API token (shown once).
    expect(page.get_by_test_id("snippet-node")).to_contain_text("createHmac")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("rotate-api-token").click()
    expect(page.get_by_test_id("rotated-value")).to_have_text(re.compile(r"^\S{40,}$"))

    # ... and invites an agent.
    email = f"new-{uuid.uuid4().hex[:6]}@demo.test"
    page.get_by_test_id("nav-team").click()
    expect(page).to_have_url(re.compile(r"/console/agents$"))
    page.get_by_test_id("invite-email").fill(email)
    page.get_by_test_id("invite-submit").click()
    link = page.get_by_test_id("link-url")
    expect(link).to_contain_text("/console/invite/")
    url = link.text_content() or ""
    expect(page.locator(f'[data-testid="invitation"][data-email="{email}"]')).to_be_visible()

    # The agent accepts and lands in the console.
    agent = second_page
    agent.goto(url)
    expect(agent.get_by_test_id("accept-email")).to_have_text(email)
    agent.get_by_test_id("accept-name").fill("Nadia Baru")
    agent.get_by_test_id("accept-password").fill(PASSWORD)
    agent.get_by_test_id("accept-submit").click()
    expect(agent).to_have_url(re.compile(r"/console/?(#.*)?$"))
    expect(agent.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")

    # Two-factor: scan (here: read the key), confirm with a code, keep the recovery codes.
    agent.get_by_test_id("nav-account").click()
    agent.get_by_test_id("twofa-setup").click()
    expect(agent.get_by_test_id("twofa-qr")).to_be_visible()
    secret = agent.get_by_test_id("twofa-secret").text_content() or ""
    agent.get_by_test_id("twofa-code").fill(code_for(secret))
    agent.get_by_test_id("twofa-enable").click()
    expect(agent.get_by_test_id("twofa-codes").locator("li")).to_have_count(10)
    expect(agent.get_by_test_id("twofa-state")).to_contain_text("10 recovery codes")

    # Signing in again asks for a code after the password (the one used above is spent).
    agent.get_by_test_id("logout-btn").click()
    expect(agent).to_have_url(re.compile(r"/console/login"))
    agent.get_by_test_id("login-email").fill(email)
    agent.get_by_test_id("login-password").fill(PASSWORD)
    agent.get_by_test_id("login-submit").click()
    agent.get_by_test_id("login-code").fill(code_for(secret, 1))
    agent.get_by_test_id("login-submit").click()
    expect(agent).to_have_url(re.compile(r"/console/?(#.*)?$"))
    expect(agent.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")

    # The owner sees it on the team page, and deactivates the agent.
    page.reload()
    row = page.locator(f'[data-testid="agent-row"][data-email="{email}"]')
    expect(row.get_by_test_id("agent-2fa")).to_have_text("On")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("agent-deactivate").click()
    expect(row.get_by_test_id("agent-status")).to_have_text("Deactivated")

    # The agent's open console says they were signed out.
    expect(agent).to_have_url(re.compile(r"/console/login\?ended=1"))
    expect(agent.get_by_test_id("login-error")).to_contain_text("You were signed out")

    # The audit page lists every step.
    page.get_by_test_id("nav-audit").click()
    rows = page.get_by_test_id("audit-row")
    expect(rows.first).to_be_visible()
    for action in (
        "invitation_created",
        "invitation_accepted",
        "2fa_enabled",
        "login",
        "agent_deactivated",
        "api_token_rotated",
    ):
        expect(
            page.locator(f'[data-testid="audit-row"][data-action="{action}"]').first
        ).to_be_visible()
    page.get_by_test_id("audit-action").select_option("agent_deactivated")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Account deactivated")


def test_two_factor_while_accepting_and_an_owner_resetting_it(
    page: Page, second_page: Page, live_server
) -> None:
    english(page)
    english(second_page)
    login(page, live_server)
    email = f"careful-{uuid.uuid4().hex[:6]}@demo.test"
    page.goto(f"{live_server.url}/console/agents")
    page.get_by_test_id("invite-email").fill(email)
    page.get_by_test_id("invite-submit").click()
    link = page.get_by_test_id("link-url")
    expect(link).to_contain_text("/console/invite/")

    # The invitee turns on two-factor on the invitation page itself.
    agent = second_page
    agent.goto(link.text_content() or "")
    agent.get_by_test_id("accept-name").fill("Sari Hati")
    agent.get_by_test_id("accept-password").fill(PASSWORD)
    agent.get_by_test_id("accept-twofa-toggle").check()
    expect(agent.get_by_test_id("accept-twofa-qr")).to_be_visible()
    secret = agent.get_by_test_id("accept-twofa-secret")
    expect(secret).to_have_text(re.compile(r"^[A-Z2-7]{16,}$"))
    agent.get_by_test_id("accept-twofa-code").fill(code_for(secret.text_content() or ""))
    agent.get_by_test_id("accept-submit").click()
    expect(agent.get_by_test_id("accept-codes").locator("li")).to_have_count(10)
    agent.get_by_test_id("accept-continue").click()
    expect(agent.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")

    # The owner resets it (a lost phone): the agent's open console is signed out.
    page.reload()
    row = page.locator(f'[data-testid="agent-row"][data-email="{email}"]')
    expect(row.get_by_test_id("agent-2fa")).to_have_text("On")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("agent-reset-2fa").click()
    expect(row.get_by_test_id("agent-2fa")).to_have_text("Off")
    expect(agent).to_have_url(re.compile(r"/console/login\?ended=1"))
