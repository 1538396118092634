"""The dlt settings that point every source at a sandbox server (``SOURCES__<SOURCE>__...``)."""

from __future__ import annotations

from datetime import date

from ingestion.sandbox import ecb_api, google_ads_api, linkedin_ads_api, meta_ads_api, stripe_api
from ingestion.sandbox.simulation import catalog

_ACCOUNTS = {platform: account for platform, account, _, _ in catalog.AD_ACCOUNTS}


def source_env(base_url: str, start: date) -> dict[str, str]:
    """Environment variables configuring every source for the sandbox at ``base_url``."""
    return {
        "SOURCES__STRIPE__API_BASE": base_url,
        "SOURCES__STRIPE__API_KEY": stripe_api.SANDBOX_API_KEY,
        "SOURCES__GA4__BUCKET_URL": f"{base_url}/ga4/",
        "SOURCES__GA4__START_DATE": start.isoformat(),
        "SOURCES__GOOGLE_ADS__API_BASE": base_url,
        "SOURCES__GOOGLE_ADS__CUSTOMER_ID": _ACCOUNTS["google_ads"],
        "SOURCES__GOOGLE_ADS__DEVELOPER_TOKEN": google_ads_api.SANDBOX_DEVELOPER_TOKEN,
        "SOURCES__GOOGLE_ADS__ACCESS_TOKEN": google_ads_api.SANDBOX_ACCESS_TOKEN,
        "SOURCES__GOOGLE_ADS__START_DATE": start.isoformat(),
        "SOURCES__META_ADS__API_BASE": base_url,
        "SOURCES__META_ADS__ACCOUNT_ID": _ACCOUNTS["meta_ads"],
        "SOURCES__META_ADS__ACCESS_TOKEN": meta_ads_api.SANDBOX_ACCESS_TOKEN,
        "SOURCES__META_ADS__START_DATE": start.isoformat(),
        "SOURCES__LINKEDIN_ADS__API_BASE": base_url,
        "SOURCES__LINKEDIN_ADS__ACCOUNT_ID": _ACCOUNTS["linkedin_ads"],
        "SOURCES__LINKEDIN_ADS__ACCESS_TOKEN": linkedin_ads_api.SANDBOX_ACCESS_TOKEN,
        "SOURCES__LINKEDIN_ADS__START_DATE": start.isoformat(),
        "SOURCES__ECB_FX__API_BASE": base_url,
        "SOURCES__ECB_FX__START_DATE": ecb_api.client_start_date(start).isoformat(),
    }
