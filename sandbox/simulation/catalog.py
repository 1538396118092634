"""What the simulated business sells and where its visitors come from.

Plain data: plans and prices, coupons, countries, traffic channels, ad accounts and
campaigns, product features, and the volume of each scale. The simulation modules read it;
nothing here draws random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

# --- Plans and prices ---------------------------------------------------------------------

#: The currencies a default world bills in (``simulate(currencies=...)`` picks others).
DEFAULT_CURRENCIES = ("usd", "eur", "gbp", "jpy")
TIERS = ("starter", "professional", "business")
TIER_NAMES = {"starter": "Starter", "professional": "Professional", "business": "Business"}
#: Monthly list price in each currency's minor unit; annual = 10 x monthly (two months free).
#: A world can bill in any currency listed here.
MONTHLY_PRICE = {
    "starter": {"usd": 1900, "eur": 1900, "gbp": 1500, "jpy": 2900, "cad": 2500, "chf": 1900},
    "professional": {"usd": 4900, "eur": 4900, "gbp": 3900, "jpy": 7400, "cad": 6500, "chf": 4900},
    "business": {"usd": 9900, "eur": 9900, "gbp": 7900, "jpy": 14900, "cad": 12900, "chf": 9900},
}
PRICED_CURRENCIES = tuple(MONTHLY_PRICE["starter"])
ANNUAL_MULTIPLIER = 10
ONBOARDING_PRICE = {"usd": 29900, "eur": 27900, "gbp": 23900, "jpy": 45000, "cad": 39900, "chf": 29900}
#: Metered add-on (Business only): price per 1,000 API calls, billed in arrears.
METERED_PRICE = {"usd": 50, "eur": 50, "gbp": 40, "jpy": 75, "cad": 70, "chf": 50}
#: Stripe's fixed card fee per charge, in the minor unit (JPY pays a higher percentage instead).
CARD_FIXED_FEE = {"usd": 30, "eur": 25, "gbp": 20, "jpy": 0, "cad": 30, "chf": 30}

TIER_WEIGHTS = (0.5, 0.35, 0.15)
ANNUAL_SHARE = 0.2


@dataclass(frozen=True)
class CouponSpec:
    code: str
    duration: str  # once | repeating | forever
    percent_off: float | None = None
    amount_off: dict[str, int] | None = None  # per currency (Stripe amount coupons have one)
    duration_in_months: int | None = None


COUPONS = (
    CouponSpec("LAUNCH20", "forever", percent_off=20.0),
    CouponSpec("PARTNER12_5", "forever", percent_off=12.5),
    CouponSpec("WELCOME50", "once", percent_off=50.0),
    CouponSpec("QUARTER25", "repeating", percent_off=25.0, duration_in_months=3),
    CouponSpec("FLAT5", "forever",
               amount_off={"usd": 500, "eur": 500, "gbp": 400, "jpy": 700, "cad": 700, "chf": 500}),
    CouponSpec("TENOFF6", "repeating",
               amount_off={"usd": 1000, "eur": 1000, "gbp": 800, "jpy": 1500, "cad": 1400, "chf": 1000},
               duration_in_months=6),
)
COUPON_SHARE = 0.18

# --- Countries ------------------------------------------------------------------------------

# (country, continent, city, billing currencies in order of preference, weight): a customer
# pays in the first of its country's currencies the world bills in, else in the world's first.
COUNTRIES = (
    ("US", "Americas", "New York", ("usd",), 0.42),
    ("CA", "Americas", "Toronto", ("cad", "usd"), 0.06),
    ("GB", "Europe", "London", ("gbp", "eur", "chf"), 0.12),
    ("DE", "Europe", "Berlin", ("eur", "chf", "gbp"), 0.09),
    ("FR", "Europe", "Paris", ("eur", "chf", "gbp"), 0.06),
    ("NL", "Europe", "Amsterdam", ("eur", "chf", "gbp"), 0.04),
    ("JP", "Asia", "Tokyo", ("jpy",), 0.08),
    ("IN", "Asia", "Bengaluru", ("usd",), 0.08),
    ("BR", "Americas", "Sao Paulo", ("usd",), 0.05),
)
#: VAT-style tax rate by billing currency, in percent (excluded from revenue metrics).
TAX_PERCENT = {"usd": 0, "eur": 20, "gbp": 20, "jpy": 10, "cad": 13, "chf": 8}


def check_currencies(currencies: tuple[str, ...]) -> tuple[str, ...]:
    """The billing currencies of a world, lower case; ValueError naming any without prices."""
    chosen = tuple(c.strip().lower() for c in currencies if c.strip())
    unknown = [c for c in chosen if c not in PRICED_CURRENCIES]
    if not chosen or unknown or len(set(chosen)) != len(chosen):
        no_prices = f" ({', '.join(unknown)} has no prices)" if unknown else ""
        raise ValueError(f"--currencies {','.join(currencies)}: choose distinct currencies among "
                         f"{', '.join(PRICED_CURRENCIES)}{no_prices}")
    return chosen


def billing_currency(country: int, currencies: tuple[str, ...]) -> str:
    """The currency a customer from ``COUNTRIES[country]`` pays in, in a world billing in ``currencies``."""
    return next((c for c in COUNTRIES[country][3] if c in currencies), currencies[0])


# --- Accounts and scales ----------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    """What the simulated Stripe account uses. A young or simple account leaves whole fields
    unset on every object (no address, no lookup key, no tax, ...), and whole resources empty
    (no coupon, no refund): the warehouse must still build from it."""

    currencies: tuple[str, ...] = DEFAULT_CURRENCIES
    addresses: bool = True  # customers' billing address
    lookup_keys: bool = True  # prices' lookup_key
    tax: bool = True  # VAT-style tax on invoices (TAX_PERCENT)
    coupons: bool = True
    refunds: bool = True
    trials: bool = True


FULL_ACCOUNT = Account()
#: One currency (USD), and none of the optional features.
MINIMAL_ACCOUNT = Account(currencies=("usd",), addresses=False, lookup_keys=False, tax=False,
                          coupons=False, refunds=False, trials=False)


@dataclass(frozen=True)
class Scale:
    name: str
    #: new website visitors on day 0 (grows by ``growth_per_year`` and dips at weekends)
    visitors_per_day: float
    account: Account = FULL_ACCOUNT


SCALES = {
    "minimal": Scale("minimal", 20.0, MINIMAL_ACCOUNT),
    "small": Scale("small", 20.0),
    "default": Scale("default", 100.0),
    "large": Scale("large", 700.0),
}
GROWTH_PER_YEAR = 0.6

DEFAULT_SEED = 42
DEFAULT_START = date(2024, 11, 1)
DEFAULT_AS_OF = date(2026, 11, 1)

DEVICES = (
    # category, operating_system, browser, weight
    ("desktop", "Windows", "Chrome", 0.34),
    ("desktop", "Macintosh", "Chrome", 0.18),
    ("desktop", "Macintosh", "Safari", 0.12),
    ("mobile", "iOS", "Safari", 0.18),
    ("mobile", "Android", "Chrome", 0.13),
    ("tablet", "iOS", "Safari", 0.05),
)

# --- Channels ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Channel:
    """A way a session arrives; ``grouping`` is GA4's default channel group it falls in."""

    code: str
    grouping: str
    platform: str | None = None  # ad platform whose campaigns send it
    first_weight: float = 0.0  # share of first sessions
    return_weight: float = 0.0  # share of return sessions
    signup_rate: float = 0.0  # chance a visitor first arriving this way signs up


CHANNELS = (
    Channel("organic_search", "Organic Search", None, 0.30, 0.22, 0.0825),
    Channel("paid_search", "Paid Search", "google_ads", 0.14, 0.08, 0.1125),
    Channel("paid_social_meta", "Paid Social", "meta_ads", 0.10, 0.05, 0.0525),
    Channel("paid_social_linkedin", "Paid Social", "linkedin_ads", 0.05, 0.02, 0.075),
    Channel("organic_social", "Organic Social", None, 0.04, 0.03, 0.045),
    Channel("email", "Email", None, 0.06, 0.10, 0.12),
    Channel("referral", "Referral", None, 0.09, 0.05, 0.0975),
    Channel("direct", "Direct", None, 0.22, 0.45, 0.0675),
)
CHANNEL_INDEX = {c.code: i for i, c in enumerate(CHANNELS)}

#: (source, medium) pairs per unpaid channel; paid ones come from their campaign.
CHANNEL_SOURCES = {
    "organic_search": (("google", "organic"), ("bing", "organic"), ("duckduckgo", "organic")),
    "organic_social": (("linkedin.com", "referral"), ("t.co", "referral"), ("reddit.com", "referral")),
    "email": (("newsletter", "email"),),
    "referral": (("g2.com", "referral"), ("capterra.com", "referral"), ("indiehackers.com", "referral")),
    "direct": (("(direct)", "(none)"),),
}

# --- Ad platforms -----------------------------------------------------------------------------------

# platform, account id, account name, account currency
AD_ACCOUNTS = (
    ("google_ads", "4815162342", "Northstar Demo - Google Ads", "USD"),
    ("meta_ads", "1029384756", "Northstar Demo - Meta", "EUR"),
    ("linkedin_ads", "508123456", "Northstar Demo - LinkedIn", "GBP"),
)
#: utm_source / utm_medium each platform's clicks carry.
PLATFORM_UTM = {
    "google_ads": ("google", "cpc"),
    "meta_ads": ("facebook", "paid_social"),
    "linkedin_ads": ("linkedin", "paid_social"),
}


@dataclass(frozen=True)
class CampaignSpec:
    platform: str
    campaign_id: str
    name: str
    slug: str  # utm_campaign; differs from the slugified name where teams tagged by hand
    start: date
    end: date | None  # paused after this day
    weight: float  # share of the platform's paid sessions
    ctr: float  # clicks / impressions
    cpc: float  # cost per click in the account currency


CAMPAIGNS = (
    CampaignSpec("google_ads", "20110001", "Brand - Search", "brand-search",
                 date(2024, 1, 1), None, 0.35, 0.09, 1.10),
    CampaignSpec("google_ads", "20110002", "Generic - SaaS Metrics", "generic-saas-metrics",
                 date(2024, 1, 1), None, 0.45, 0.035, 3.40),
    CampaignSpec("google_ads", "20110003", "Competitor Conquesting", "competitor-conquest",
                 date(2025, 3, 1), None, 0.20, 0.025, 4.80),
    CampaignSpec("meta_ads", "23850001", "Prospecting - Lookalike 1%", "prospecting-lookalike",
                 date(2024, 1, 1), None, 0.6, 0.011, 0.95),
    CampaignSpec("meta_ads", "23850002", "Retargeting - Site Visitors", "rt_q3_2024",
                 date(2024, 1, 1), None, 0.4, 0.018, 0.70),
    CampaignSpec("linkedin_ads", "61200001", "ABM - Finance Leaders", "abm-finance-leaders",
                 date(2024, 1, 1), None, 0.7, 0.006, 7.50),
    CampaignSpec("linkedin_ads", "61200002", "Webinar: Metrics 101", "webinar-metrics-101",
                 date(2025, 6, 1), date(2025, 9, 30), 0.3, 0.008, 5.20),
)


def campaign_calendar(start: date) -> tuple[CampaignSpec, ...]:
    """CAMPAIGNS as a world starting on ``start`` runs them: moved back by whole years when the
    world starts before the first one, so an older business advertises from its start too
    (a world starting later sees them unchanged)."""
    first = min(spec.start for spec in CAMPAIGNS)
    years = 0
    while _years_back(first, years) > start:
        years += 1
    if years == 0:
        return CAMPAIGNS
    return tuple(replace(spec, start=_years_back(spec.start, years),
                         end=None if spec.end is None else _years_back(spec.end, years)) for spec in CAMPAIGNS)


def _years_back(day: date, years: int) -> date:
    return day.replace(year=day.year - years, day=min(day.day, 28) if day.month == 2 else day.day)


PLATFORM_STATUS = {
    "google_ads": ("ENABLED", "PAUSED"),
    "meta_ads": ("ACTIVE", "PAUSED"),
    "linkedin_ads": ("ACTIVE", "PAUSED"),
}
#: Clicks that never become a session (bounced before the tag fired), as a share of sessions.
CLICK_LOSS = 0.12
#: Days over which platforms keep attributing conversions to a day (reported numbers grow).
CONVERSION_REPORT_LAG_DAYS = 7

# --- Product --------------------------------------------------------------------------------------------

FEATURES = (
    "mrr_dashboard", "cohort_grid", "churn_alerts", "csv_export",
    "attribution_report", "team_invite", "api_access", "forecasting",
)
#: Each persona's relative use of FEATURES (same order).
FEATURE_PERSONAS = (
    (8, 4, 2, 3, 1, 1, 0.2, 0.5),
    (5, 2, 1, 1, 6, 2, 0.5, 1),
    (4, 3, 4, 2, 2, 3, 4, 3),
)
PAGES = ("/", "/pricing", "/features", "/blog/saas-metrics-guide", "/customers", "/docs", "/signup")

TRIAL_DAYS = 14
SIGNUP_ACTIVATION_RATE = 0.6
SIGNUP_TRIAL_RATE = 0.5
DIRECT_SUBSCRIBE_SHARE = 0.08
TRIAL_CONVERSION = {"starter": 0.16, "professional": 0.2, "business": 0.24}
