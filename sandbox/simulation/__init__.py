"""Builds the sandbox's ``World`` (and the state its truth is computed from).

Order of play: visitors and their sessions (``visitors``), what signed-up users do and how
they are billed (``journeys`` + ``billing``), Stripe's objects and events (``stripe_objects``),
ad platforms' stats (``ads``), and the GA4 export files (``ga4_events``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sandbox.simulation import ads, catalog
from sandbox.simulation.billing import BillingSimulator, Ledger
from sandbox.simulation.clock import DAY, day_start
from sandbox.simulation.ga4_events import (
    LAYOUTS,
    Ga4Output,
    expand_events,
    first_touch_traffic,
    write_export,
)
from sandbox.simulation.journeys import User, simulate_journeys
from sandbox.simulation.stripe_catalog import StripeCatalog, build_catalog
from sandbox.simulation.stripe_objects import StripeRenderer
from sandbox.simulation.visitors import Pseudos, Sessions, simulate_traffic
from sandbox.world import World


@dataclass
class Simulation:
    """The served world plus the simulator's own state (for the ground truth)."""

    world: World
    ledger: Ledger
    users: list[User]
    sessions: Sessions
    pseudos: Pseudos
    ga4: Ga4Output
    stripe_catalog: StripeCatalog


def simulate(seed: int, start: date, as_of: date, scale: str, ga4_dir: Path, malformed_rate: float = 0.0,
             currencies: tuple[str, ...] | None = None, ga4_layout: str = "daily") -> Simulation:
    """The world of one (seed, start, as_of, scale), billing in ``currencies`` (lower-case ISO
    codes with prices in the catalog; a customer pays in its country's currency when the world
    bills in it, see ``catalog.billing_currency``). Campaigns run from the start of a world
    older than them (``catalog.campaign_calendar``); FX rates come from the served ECB data.
    ``currencies`` replaces those of the scale's account (``catalog.SCALES``) when given.
    ``ga4_layout``: how the GA4 export files are written (``ga4_events.LAYOUTS``: one file a
    day, or EXPORT DATA's sharded JSON or Parquet)."""
    if as_of <= start:
        raise ValueError(f"--as-of {as_of} must be after --start {start}")
    if scale not in catalog.SCALES:
        raise ValueError(f"unknown --scale {scale!r}: choose one of {', '.join(catalog.SCALES)}")
    if ga4_layout not in LAYOUTS:
        raise ValueError(f"unknown --ga4-layout {ga4_layout!r}: choose one of {', '.join(LAYOUTS)}")
    as_of_ts = day_start(as_of)
    account = catalog.SCALES[scale].account
    if currencies is not None:
        account = replace(account, currencies=catalog.check_currencies(currencies))
    traffic = simulate_traffic(seed, start, as_of, catalog.SCALES[scale])
    stripe_catalog = build_catalog(seed, created=day_start(start) - 30 * DAY, account=account)
    billing = BillingSimulator(seed, stripe_catalog, as_of_ts, account)
    users, product_sessions = simulate_journeys(seed, traffic, billing, as_of_ts)
    sessions = traffic.sessions
    if product_sessions is not None:
        sessions = Sessions.concat([traffic.sessions, product_sessions])
    events = expand_events(sessions, as_of_ts)
    ga4 = write_export(ga4_dir, events, traffic.pseudos, [u.user_id for u in users],
                       first_touch_traffic(sessions, len(traffic.pseudos.ids)), seed, malformed_rate,
                       ga4_layout)
    world = World(
        seed=seed, start=start, as_of=as_of, scale=scale, currencies=account.currencies,
        stripe=StripeRenderer(seed, stripe_catalog, as_of_ts, account).render(billing.ledger),
        ad_accounts=ads.accounts(), ad_campaigns=ads.campaigns(start, as_of),
        ad_stats=ads.daily_stats(seed, sessions, users, start, as_of), ga4_dir=ga4_dir,
    )
    return Simulation(world, billing.ledger, users, sessions, traffic.pseudos, ga4, stripe_catalog)
