"""Rules for two-factor sign-in (TOTP, RFC 6238): which time step a code proves, and the
shape of recovery codes. Pure: the caller passes the time."""

from __future__ import annotations

import re

import pyotp

STEP = 30  # seconds per code (what every authenticator app uses)
DRIFT = 1  # steps either side of now still accepted: a phone's clock is rarely exact
DIGITS = re.compile(r"\d{6}")
RECOVERY = re.compile(r"[a-z2-7]{5}-?[a-z2-7]{5}")
RECOVERY_CODES = 10
CHALLENGE_SECONDS = 300  # a right password waits this long for its code


def accepted_step(secret: str, code: str, now: float, last_step: int) -> int | None:
    """The time step `code` is valid for, near `now` and after `last_step`; else None.

    Steps at or before `last_step` are refused, so a code (even one seen over a shoulder)
    never signs in twice.
    """
    code = code.strip().replace(" ", "")
    if not DIGITS.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int(now // STEP)
    for step in range(current - DRIFT, current + DRIFT + 1):
        if step > last_step and pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def is_recovery_code(code: str) -> bool:
    return RECOVERY.fullmatch(code.strip().lower()) is not None


def normal_recovery_code(code: str) -> str:
    """Recovery codes are shown as `abcde-fghij`; typed with or without the dash, any case."""
    return code.strip().lower().replace("-", "")
