"""Website visitors and their marketing sessions, drawn day by day with numpy.

This is the high-volume part of the simulation, so it works on arrays, never on per-visitor
Python objects. Each day draws from its own generator seeded by (seed, day), so the first N
days come out the same whatever the as-of: advancing as-of only appends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from sandbox.simulation import catalog
from sandbox.simulation.clock import DAY, day_start

#: Flattened (channel code, source, medium) of the unpaid channels; sessions point into it.
SOURCES: list[tuple[str, str, str]] = [
    (code, source, medium) for code, pairs in catalog.CHANNEL_SOURCES.items() for source, medium in pairs
]
_SOURCE_RANGE = {
    code: [i for i, row in enumerate(SOURCES) if row[0] == code] for code in catalog.CHANNEL_SOURCES
}
#: Hour-of-day weights (UTC) for session starts: a working-day hump with a late tail.
_HOUR_WEIGHTS = np.array([2, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 10, 9, 9, 10, 10, 9, 8, 7, 6, 5, 4, 4, 3], float)
_HOUR_P = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()
_FIRST_P = np.array([c.first_weight for c in catalog.CHANNELS]) / sum(c.first_weight for c in catalog.CHANNELS)
_RETURN_P = np.array([c.return_weight for c in catalog.CHANNELS]) / sum(c.return_weight for c in catalog.CHANNELS)
_SIGNUP_RATE = np.array([c.signup_rate for c in catalog.CHANNELS])
_DEVICE_P = np.array([d[3] for d in catalog.DEVICES]) / sum(d[3] for d in catalog.DEVICES)
_COUNTRY_P = np.array([c[4] for c in catalog.COUNTRIES]) / sum(c[4] for c in catalog.COUNTRIES)
_MOBILE_DEVICES = np.array([i for i, d in enumerate(catalog.DEVICES) if d[0] == "mobile"])
ALT_DEVICE_SHARE = 0.35


@dataclass
class Sessions:
    """Columns of a session table (one entry per session)."""

    pseudo: np.ndarray  # int64 index into Pseudos
    start: np.ndarray  # int64 unix seconds
    channel: np.ndarray  # int16 index into catalog.CHANNELS
    campaign: np.ndarray  # int16 index into catalog.CAMPAIGNS, -1 when unpaid
    source: np.ndarray  # int16 index into SOURCES, -1 when paid
    pageviews: np.ndarray  # int16
    scrolls: np.ndarray  # int16
    signup: np.ndarray  # bool: the sign_up event happens in this session
    login: np.ndarray  # bool: a login event (second device joining the account)
    activation: np.ndarray  # bool: the activation event happens in this session
    features: np.ndarray  # int16 number of feature_used events
    persona: np.ndarray  # int16 index into catalog.FEATURE_PERSONAS
    user: np.ndarray  # int64 index into the user list, -1 when anonymous
    user_from: np.ndarray  # int8: 0 user_id on every event, 1 from the sign_up/login event, 2 never

    @classmethod
    def concat(cls, parts: list[Sessions]) -> Sessions:
        names = cls.__dataclass_fields__
        return cls(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})

    def take(self, mask: np.ndarray) -> Sessions:
        return Sessions(**{n: getattr(self, n)[mask] for n in self.__dataclass_fields__})

    def __len__(self) -> int:
        return len(self.start)


@dataclass
class Pseudos:
    """GA4 client ids (``user_pseudo_id``): one per browser, with its device and country."""

    ids: list[str] = field(default_factory=list)
    device: list[int] = field(default_factory=list)
    country: list[int] = field(default_factory=list)

    def add(self, client_id: str, device: int, country: int) -> int:
        self.ids.append(client_id)
        self.device.append(device)
        self.country.append(country)
        return len(self.ids) - 1


@dataclass
class Signup:
    """A visitor who creates an account; the journey module takes it from here."""

    key: tuple[int, int]  # (day number, visitor number that day): stable across as-ofs
    signup_ts: int
    pseudo: int  # main browser
    alt_pseudo: int | None  # earlier browser (mobile) used before sign-up, if any
    country: int
    first_session_ts: int


@dataclass
class Traffic:
    sessions: Sessions
    pseudos: Pseudos
    signups: list[Signup]


def _weekday_factor(day: date) -> float:
    return 0.6 if day.weekday() >= 5 else 1.0


def _pick_campaigns(rng: np.random.Generator, channel: np.ndarray, days: np.ndarray,
                    campaigns: tuple[catalog.CampaignSpec, ...]) -> np.ndarray:
    """Campaign index for each paid session, among the platform's campaigns running that day."""
    campaign = np.full(len(channel), -1, np.int16)
    for ci, chan in enumerate(catalog.CHANNELS):
        if chan.platform is None:
            continue
        rows = np.flatnonzero(channel == ci)
        if len(rows) == 0:
            continue
        specs = [(i, s) for i, s in enumerate(campaigns) if s.platform == chan.platform]
        weights = np.zeros((len(rows), len(specs)))
        for j, (_, spec) in enumerate(specs):
            first = spec.start.toordinal()
            last = spec.end.toordinal() if spec.end else 10**7
            weights[:, j] = spec.weight * ((days[rows] >= first) & (days[rows] <= last))
        cumulative = np.cumsum(weights, axis=1)
        draw = rng.random(len(rows)) * cumulative[:, -1]
        choice = (cumulative < draw[:, None]).sum(axis=1)
        campaign[rows] = np.array([specs[k][0] for k in range(len(specs))])[choice]
    return campaign


def _pick_sources(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    """Index into SOURCES for each unpaid session (the first listed source is the usual one)."""
    source = np.full(len(channel), -1, np.int16)
    for ci, chan in enumerate(catalog.CHANNELS):
        options = _SOURCE_RANGE.get(chan.code)
        rows = np.flatnonzero(channel == ci)
        if not options or len(rows) == 0:
            continue
        weights = np.array([0.75 ** k for k in range(len(options))])
        source[rows] = np.array(options)[rng.choice(len(options), len(rows), p=weights / weights.sum())]
    return source


def simulate_traffic(seed: int, start: date, as_of: date, scale: catalog.Scale) -> Traffic:
    """Visitors from ``start`` to the day before ``as_of``, their sessions and sign-ups."""
    pseudos = Pseudos()
    parts: list[Sessions] = []
    signups: list[Signup] = []
    as_of_ts = day_start(as_of)
    n_days = (as_of - start).days
    calendar = catalog.campaign_calendar(start)
    for d in range(n_days):
        day = start + timedelta(days=d)
        rng = np.random.default_rng([seed, 101, day.toordinal()])
        expected = scale.visitors_per_day * (1 + catalog.GROWTH_PER_YEAR * d / 365) * _weekday_factor(day)
        n = int(rng.poisson(expected))
        if n == 0:
            continue
        first_ts = day_start(day) + rng.choice(24, n, p=_HOUR_P) * 3600 + rng.integers(0, 3600, n)
        country = rng.choice(len(catalog.COUNTRIES), n, p=_COUNTRY_P)
        device = rng.choice(len(catalog.DEVICES), n, p=_DEVICE_P)
        first_channel = rng.choice(len(catalog.CHANNELS), n, p=_FIRST_P)
        n_sessions = np.minimum(rng.geometric(0.45, n), 12)
        is_signup = rng.random(n) < _SIGNUP_RATE[first_channel]
        signup_at = (rng.random(n) * n_sessions).astype(np.int64)
        alt_device = is_signup & (signup_at >= 1) & (rng.random(n) < ALT_DEVICE_SHARE)
        client_numbers = rng.integers(10**8, 10**10, (n, 2))

        # sessions: visitor v has n_sessions[v]; the first at first_ts, returns days apart
        visitor = np.repeat(np.arange(n), n_sessions)
        index = np.arange(len(visitor)) - np.repeat(np.cumsum(n_sessions) - n_sessions, n_sessions)
        gaps = np.where(index == 0, 0, rng.exponential(5 * DAY, len(visitor)).astype(np.int64) + 1800)
        starts = first_ts[visitor] + _segmented_cumsum(gaps, n_sessions)
        channel = np.where(index == 0, first_channel[visitor],
                           rng.choice(len(catalog.CHANNELS), len(visitor), p=_RETURN_P))
        session_days = np.array([day.toordinal()], np.int64) + (starts - day_start(day)) // DAY

        main_pseudo = np.empty(n, np.int64)
        alt_pseudo = np.full(n, -1, np.int64)
        for v in range(n):
            main_pseudo[v] = pseudos.add(f"{client_numbers[v, 0]}.{first_ts[v]}", int(device[v]), int(country[v]))
            if alt_device[v]:
                alt_pseudo[v] = pseudos.add(
                    f"{client_numbers[v, 1]}.{first_ts[v]}", int(_MOBILE_DEVICES[v % len(_MOBILE_DEVICES)]),
                    int(country[v]),
                )
        on_alt = alt_device[visitor] & (index < signup_at[visitor])
        pseudo = np.where(on_alt, alt_pseudo[visitor], main_pseudo[visitor])
        user_of_visitor = np.full(n, -1, np.int64)
        for v in np.flatnonzero(is_signup):
            own = np.flatnonzero(visitor == v)
            if starts[own[signup_at[v]]] >= as_of_ts:
                continue  # the sign-up session has not happened yet
            signup_ts = int(starts[own[signup_at[v]]]) + 120
            user_of_visitor[v] = len(signups)
            signups.append(
                Signup(
                    key=(day.toordinal(), int(v)),
                    signup_ts=signup_ts,
                    pseudo=int(main_pseudo[v]),
                    alt_pseudo=int(alt_pseudo[v]) if alt_pseudo[v] >= 0 else None,
                    country=int(country[v]),
                    first_session_ts=int(first_ts[v]),
                )
            )
        user = user_of_visitor[visitor]
        # draws depend on the plan, never on what as-of shows: the random stream stays aligned
        planned_signup_session = is_signup[visitor] & (index == signup_at[visitor])
        is_signup_session = (user >= 0) & (index == signup_at[visitor])
        after_signup = (user >= 0) & (index > signup_at[visitor])
        m = len(visitor)
        parts.append(
            Sessions(
                pseudo=pseudo,
                start=starts.astype(np.int64),
                channel=channel.astype(np.int16),
                campaign=_pick_campaigns(rng, channel, session_days, calendar),
                source=_pick_sources(rng, channel),
                pageviews=(1 + rng.poisson(np.where(planned_signup_session, 2.0, 0.8), m)).astype(np.int16),
                scrolls=(rng.random(m) < 0.3).astype(np.int16),
                signup=is_signup_session,
                login=np.zeros(m, bool),
                activation=np.zeros(m, bool),
                features=np.zeros(m, np.int16),
                persona=np.zeros(m, np.int16),
                user=np.where(is_signup_session | after_signup, user, -1),
                user_from=np.where(is_signup_session, 1, np.where(after_signup, 0, 2)).astype(np.int8),
            )
        )
    sessions = Sessions.concat(parts) if parts else _empty_sessions()
    return Traffic(sessions=sessions.take(sessions.start < as_of_ts), pseudos=pseudos, signups=signups)


def _segmented_cumsum(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarting at each segment of ``lengths``."""
    total = np.cumsum(values)
    offsets = np.repeat(total[np.cumsum(lengths) - lengths] - values[np.cumsum(lengths) - lengths], lengths)
    return total - offsets


def _empty_sessions() -> Sessions:
    z = np.zeros(0, np.int64)
    return Sessions(z, z, z.astype(np.int16), z.astype(np.int16), z.astype(np.int16), z.astype(np.int16),
                    z.astype(np.int16), z.astype(bool), z.astype(bool), z.astype(bool), z.astype(np.int16),
                    z.astype(np.int16), z, z.astype(np.int8))
