"""axe-core accessibility checks in real Chromium (axe-core comes from the npm registry;
scripts/test installs it under tests/e2e/node_modules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_JS = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("critical", "serious")


def axe_violations(page: Page, context: str | dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Critical and serious violations on the page as it is now (optionally within `context`,
    a selector or an axe context object, e.g. {"include": [["#host", "#inner"]]} for Shadow DOM)."""
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS} is missing: run scripts/test (it installs axe-core)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated rather than added as a <script>: Sapa's pages forbid inline scripts (CSP).
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async (ctx) => await window.axe.run(ctx || document, {resultTypes: ['violations']})",
        context,
    )
    return [v for v in result["violations"] if v.get("impact") in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    """A readable failure message: rule, impact and the offending nodes."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v.get("nodes", [])[:5]:
            lines.append(f"    {node.get('target')}: {node.get('failureSummary', '')[:200]}")
    return "\n".join(lines)
