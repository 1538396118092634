"""What signed-up users do next: activation, product use, trials and billing, second devices.

Sessions here are drawn as Poisson processes that start at a fixed moment and run until a
window closes; each window has its own generator and draws in fixed-size chunks, so a later
as-of (a longer window) only appends sessions: the past never changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sandbox.simulation import catalog
from sandbox.simulation.billing import BillingSimulator, CustomerPlan
from sandbox.simulation.clock import DAY
from sandbox.simulation.ids import token
from sandbox.simulation.visitors import SOURCES, Sessions, Traffic

_CHUNK = 64
_DIRECT = catalog.CHANNEL_INDEX["direct"]
_EMAIL = catalog.CHANNEL_INDEX["email"]


@dataclass
class User:
    """A signed-up user; ``customer_id`` is set once they start a subscription."""

    user_id: str
    signup_ts: int
    pseudos: list[int]  # every browser linked to the user by sign_up or login (main first)
    first_session_ts: int
    customer_id: str | None = None
    activated_ts: int | None = None


def user_id_for(seed: int, key: tuple[int, int]) -> str:
    return f"usr_{token(seed, 'user', *key, length=16)}"


def simulate_journeys(
    seed: int, traffic: Traffic, billing: BillingSimulator, as_of_ts: int
) -> tuple[list[User], Sessions]:
    """Users (one per sign-up) and the product sessions they generate."""
    users: list[User] = []
    parts: list[Sessions] = []
    for index, signup in enumerate(traffic.signups):
        rng = np.random.default_rng([seed, 202, *signup.key])
        key = f"{signup.key[0]}-{signup.key[1]}"
        user = User(user_id_for(seed, signup.key), signup.signup_ts, [signup.pseudo], signup.first_session_ts)
        activated = rng.random() < catalog.SIGNUP_ACTIVATION_RATE
        activation_ts = signup.signup_ts + 600 + int(rng.exponential(DAY))
        starts_trial = rng.random() < (0.65 if activated else 0.27)
        direct = rng.random() < catalog.DIRECT_SUBSCRIBE_SHARE
        trial_ts = signup.signup_ts + 900 + (0 if rng.random() < 0.6 else int(rng.exponential(3 * DAY)))
        persona = int(rng.integers(0, len(catalog.FEATURE_PERSONAS)))
        login_delay = int(rng.uniform(0.5, 3) * DAY)

        windows = [(signup.signup_ts + 1800, signup.signup_ts + 10 * DAY, 0.6)]
        if starts_trial and trial_ts < as_of_ts:
            country = catalog.COUNTRIES[signup.country][0]
            currency = catalog.billing_currency(signup.country, billing.account.currencies)
            with_trial = not direct and billing.account.trials
            plan = CustomerPlan(key, user.user_id, trial_ts, country, currency, activated, with_trial)
            spans = billing.run_customer(plan)
            user.customer_id = billing.ledger.customers[-1].id
            if with_trial:
                windows.append((trial_ts + 3600, trial_ts + catalog.TRIAL_DAYS * DAY, 0.5))
            windows.extend((start, end, 0.25) for start, end in spans)
        if activated and activation_ts >= as_of_ts:
            activated = False

        product = [_window_sessions(seed, signup.key, w, start, end, rate, as_of_ts, signup.pseudo, index, persona)
                   for w, (start, end, rate) in enumerate(windows)]
        if signup.alt_pseudo is not None:
            login_ts = signup.signup_ts + login_delay
            if login_ts < as_of_ts:
                user.pseudos.append(signup.alt_pseudo)
                product.append(_login_session(signup.alt_pseudo, login_ts, index, persona))
                product.append(_window_sessions(seed, signup.key, 99, login_ts + DAY, login_ts + 120 * DAY, 0.08,
                                                as_of_ts, signup.alt_pseudo, index, persona))
        merged = Sessions.concat(product)
        if activated:
            later = np.flatnonzero(merged.start >= activation_ts)
            if len(later):
                first = later[np.argmin(merged.start[later])]
                merged.activation[first] = True
                user.activated_ts = int(merged.start[first])
        parts.append(merged)
        users.append(user)
    return users, Sessions.concat(parts) if parts else None


def _window_sessions(seed: int, key: tuple[int, int], window: int, start: int, end: int, rate_per_day: float,
                     as_of_ts: int, pseudo: int, user: int, persona: int) -> Sessions:
    """Product sessions of one engagement window, a Poisson process from ``start``."""
    rng = np.random.default_rng([seed, 203, *key, window])
    end = min(end, as_of_ts)
    starts: list[np.ndarray] = []
    attrs: list[np.ndarray] = []
    t = start
    while t < end:
        gaps = rng.exponential(DAY / rate_per_day, _CHUNK).astype(np.int64) + 600
        chunk = t + np.cumsum(gaps)
        attrs.append(rng.random((_CHUNK, 4)))
        starts.append(chunk)
        t = int(chunk[-1])
    if not starts:
        return _product_sessions(np.zeros(0, np.int64), np.zeros((0, 4)), pseudo, user, persona)
    all_starts, all_attrs = np.concatenate(starts), np.concatenate(attrs)
    keep = all_starts < end
    return _product_sessions(all_starts[keep], all_attrs[keep], pseudo, user, persona)


def _product_sessions(starts: np.ndarray, u: np.ndarray, pseudo: int, user: int, persona: int) -> Sessions:
    n = len(starts)
    channel = np.where(u[:, 0] < 0.85, _DIRECT, _EMAIL).astype(np.int16)
    source = np.where(channel == _EMAIL, _source_index("email"), _source_index("direct")).astype(np.int16)
    return Sessions(
        pseudo=np.full(n, pseudo, np.int64), start=starts.astype(np.int64), channel=channel,
        campaign=np.full(n, -1, np.int16), source=source,
        pageviews=(1 + (u[:, 1] * 2).astype(np.int16)), scrolls=np.zeros(n, np.int16),
        signup=np.zeros(n, bool), login=np.zeros(n, bool), activation=np.zeros(n, bool),
        features=(1 + (u[:, 2] * 3).astype(np.int16)), persona=np.full(n, persona, np.int16),
        user=np.full(n, user, np.int64), user_from=np.zeros(n, np.int8),
    )


def _login_session(pseudo: int, ts: int, user: int, persona: int) -> Sessions:
    """A second browser's first signed-in visit: events before the login are anonymous."""
    s = _product_sessions(np.array([ts], np.int64), np.array([[0.0, 0.3, 0.3, 0.0]]), pseudo, user, persona)
    s.login[:] = True
    s.user_from[:] = 1
    return s


def _source_index(channel_code: str) -> int:
    return next(i for i, row in enumerate(SOURCES) if row[0] == channel_code)
