"""Ad platforms' daily campaign stats, derived from the paid sessions the campaigns brought.

Clicks are the campaign's GA4 sessions that day plus clicks lost before the tag fired;
impressions follow from a click-through rate and spend from a cost per click in the ad
account's currency. Platform-reported conversions over-claim: every platform that touched a
user in the 28 days before sign-up claims the sign-up, plus view-through claims, and they keep
arriving for a week after the day (so recent days are revised upwards).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import numpy as np

from sandbox.simulation import catalog
from sandbox.simulation.clock import DAY, ts_date
from sandbox.simulation.journeys import User
from sandbox.simulation.visitors import Sessions
from sandbox.world import AdAccount, AdCampaign, AdStatRow

CLAIM_WINDOW = 28 * DAY


def accounts() -> list[AdAccount]:
    return [AdAccount(p, a, n, c) for p, a, n, c in catalog.AD_ACCOUNTS]


def campaigns(start: date, as_of: date) -> list[AdCampaign]:
    account_of = {p: a for p, a, _, _ in catalog.AD_ACCOUNTS}
    result = []
    for spec in catalog.campaign_calendar(start):
        if spec.start >= as_of:
            continue
        active, paused = catalog.PLATFORM_STATUS[spec.platform]
        status = paused if spec.end is not None and spec.end < as_of - timedelta(days=1) else active
        result.append(AdCampaign(spec.platform, account_of[spec.platform], spec.campaign_id, spec.name, spec.slug,
                                 status, spec.start))
    return result


def daily_stats(seed: int, sessions: Sessions, users: list[User], start: date, as_of: date) -> list[AdStatRow]:
    paid = np.flatnonzero(sessions.campaign >= 0)
    day_ordinal = (sessions.start[paid] // DAY + date(1970, 1, 1).toordinal()).astype(np.int64)
    sessions_per = Counter(zip(sessions.campaign[paid].tolist(), day_ordinal.tolist(), strict=True))
    claims = _claims(sessions, users, as_of)
    account_of = {p: a for p, a, _, _ in catalog.AD_ACCOUNTS}
    rows = []
    for ci, spec in enumerate(catalog.campaign_calendar(start)):
        first = max(start, spec.start)
        last = min(as_of - timedelta(days=1), spec.end or as_of)
        day = first
        while day <= last:
            rng = np.random.default_rng([seed, 501, ci, day.toordinal()])
            n = sessions_per.get((ci, day.toordinal()), 0)
            clicks = n + int(rng.binomial(n, catalog.CLICK_LOSS)) if n else 0
            ctr = spec.ctr * rng.uniform(0.8, 1.2)
            impressions = max(clicks, round(clicks / ctr)) if clicks else int(rng.integers(40, 400))
            spend_cents = round(clicks * spec.cpc * rng.uniform(0.85, 1.15) * 100)
            view_through = int(rng.poisson(0.25 * claims.get((ci, day.toordinal()), (0, 0))[1] + 0.02 * clicks))
            visible, _ = claims.get((ci, day.toordinal()), (0, 0))
            age = (as_of - day).days
            lag = catalog.CONVERSION_REPORT_LAG_DAYS
            matured = view_through if age > lag else view_through * age // (lag + 1)
            rows.append(AdStatRow(spec.platform, account_of[spec.platform], spec.campaign_id, day, impressions,
                                  clicks, spend_cents * 10_000, float(visible + matured)))
            day += timedelta(days=1)
    return rows


def _claims(sessions: Sessions, users: list[User], as_of: date) -> dict[tuple[int, int], tuple[int, int]]:
    """(campaign, sign-up day) -> (claims reported by as-of, all claims)."""
    owner = {}
    for index, user in enumerate(users):
        for pseudo in user.pseudos:
            owner[pseudo] = index
    paid = np.flatnonzero(sessions.campaign >= 0)
    touched: set[tuple[int, int]] = set()
    for i in paid.tolist():
        user_index = owner.get(int(sessions.pseudo[i]))
        if user_index is None:
            continue
        signup_ts = users[user_index].signup_ts
        if signup_ts - CLAIM_WINDOW <= sessions.start[i] <= signup_ts:
            touched.add((user_index, int(sessions.campaign[i])))
    as_of_ordinal = as_of.toordinal()
    result: dict[tuple[int, int], tuple[int, int]] = {}
    for user_index, campaign in sorted(touched):
        day = ts_date(users[user_index].signup_ts).toordinal()
        lag = (user_index * 7 + campaign * 3) % catalog.CONVERSION_REPORT_LAG_DAYS
        visible, total = result.get((campaign, day), (0, 0))
        result[(campaign, day)] = (visible + (day + lag < as_of_ordinal), total + 1)
    return result
