"""The simulated world as the API layers see it: Stripe objects, ad platforms and GA4 files.

A ``World`` is the state of the simulated business at ``as_of`` (an instant: midnight UTC
of the as-of day, so the last simulated day is the day before). Nothing created at or after
``as_of`` is in it. The API layers only read it; the simulator builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

from sandbox.stripe_versions import STORED_VERSION

#: Stripe resources the sandbox serves, by the name used in ``/v1/<name>``.
STRIPE_RESOURCES = (
    "customers",
    "products",
    "prices",
    "coupons",
    "subscriptions",
    "invoices",
    "charges",
    "refunds",
    "balance_transactions",
    "events",
    "invoice_payments",
)

#: Ad platforms the sandbox serves.
AD_PLATFORMS = ("google_ads", "meta_ads", "linkedin_ads")


@dataclass(frozen=True)
class AdAccount:
    """One ad account on one platform; spend is reported in ``currency``."""

    platform: str  # one of AD_PLATFORMS
    account_id: str  # digits only, e.g. "1234567890" (Meta URLs add "act_")
    name: str
    currency: str  # ISO 4217, upper case


@dataclass(frozen=True)
class AdCampaign:
    """A campaign; ``slug`` is the utm_campaign value its clicks carry to the website."""

    platform: str
    account_id: str
    campaign_id: str  # digits only
    name: str
    slug: str
    status: str  # platform spelling: Google ENABLED/PAUSED, Meta ACTIVE/PAUSED, LinkedIn ACTIVE/PAUSED
    created_date: date


@dataclass(frozen=True)
class AdStatRow:
    """Daily stats of one campaign as the platform reports them at ``as_of``.

    ``spend_micros`` is in the account currency, in millionths of a major unit (Google's
    ``cost_micros`` convention; Meta and LinkedIn render it as a decimal string).
    ``conversions`` is what the platform claims (it over-claims and matures over a week).
    """

    platform: str
    account_id: str
    campaign_id: str
    day: date
    impressions: int
    clicks: int
    spend_micros: int
    conversions: float


@dataclass
class World:
    """Everything the sandbox serves for one (seed, start, as_of, scale)."""

    seed: int
    start: date
    as_of: date
    scale: str
    #: Stripe objects by resource name (see STRIPE_RESOURCES), as Stripe's JSON shapes
    #: (dicts with "id", "object", "created", ...). Order is not significant: the API layer
    #: sorts newest first. ``events`` holds every event; the API serves the last 30 days.
    stripe: dict[str, list[dict]] = field(default_factory=dict)
    ad_accounts: list[AdAccount] = field(default_factory=list)
    ad_campaigns: list[AdCampaign] = field(default_factory=list)
    ad_stats: list[AdStatRow] = field(default_factory=list)
    #: Folder holding one ``events_YYYYMMDD.json.gz`` per day (GA4 BigQuery export as NDJSON).
    ga4_dir: Path | None = None
    #: Currencies the business bills in (lower case, Stripe's spelling).
    currencies: tuple[str, ...] = ("usd", "eur", "gbp", "jpy")
    #: The Stripe account's default API version: what a request without ``Stripe-Version`` gets,
    #: and the version events are rendered in (stripe_versions.py). Objects are stored in
    #: ``STORED_VERSION`` (2024-06-20), the default.
    stripe_api_version: str = STORED_VERSION

    @property
    def as_of_ts(self) -> int:
        """``as_of`` as a Unix timestamp (seconds): the simulated "now"."""
        return int(datetime.combine(self.as_of, time(0), tzinfo=UTC).timestamp())

    @property
    def fx_currencies(self) -> list[str]:
        """Every currency the business bills or advertises in, upper case (ISO 4217): the
        ones its FX rates must cover."""
        return sorted({c.upper() for c in self.currencies} | {a.currency.upper() for a in self.ad_accounts})

    def stripe_by_id(self) -> dict[str, dict]:
        """Every Stripe object by id (for ``GET /v1/<resource>/<id>``)."""
        return {obj["id"]: obj for objs in self.stripe.values() for obj in objs}
