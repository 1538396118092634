"""The dlt settings that point every source at a sandbox server (``SOURCES__<SOURCE>__...``)."""

from __future__ import annotations

from datetime import date

from sandbox import ecb_api, google_ads_api, meta_ads_api, oauth, stripe_api
from sandbox.simulation import catalog

_ACCOUNTS = {platform: account for platform, account, _, _ in catalog.AD_ACCOUNTS}


def source_env(base_url: str, start: date, today: date) -> dict[str, str]:
    """Environment variables configuring every source for the sandbox at ``base_url``.

    ``today`` is the sandbox's own today (its as-of): the ad sources request up to it rather
    than up to the calendar's today, so what a run asks for does not depend on the date.
    """
    return {
        "SOURCES__STRIPE__API_BASE": base_url,
        "SOURCES__STRIPE__API_KEY": stripe_api.SANDBOX_API_KEY,
        "SOURCES__GA4__BUCKET_URL": f"{base_url}/ga4/",
        "SOURCES__GA4__START_DATE": start.isoformat(),
        "SOURCES__GOOGLE_ADS__API_BASE": base_url,
        "SOURCES__GOOGLE_ADS__CUSTOMER_ID": _ACCOUNTS["google_ads"],
        "SOURCES__GOOGLE_ADS__DEVELOPER_TOKEN": google_ads_api.SANDBOX_DEVELOPER_TOKEN,
        "SOURCES__GOOGLE_ADS__CLIENT_ID": oauth.GOOGLE_CLIENT_ID,
        "SOURCES__GOOGLE_ADS__CLIENT_SECRET": oauth.GOOGLE_CLIENT_SECRET,
        "SOURCES__GOOGLE_ADS__REFRESH_TOKEN": oauth.GOOGLE_REFRESH_TOKEN,
        "SOURCES__GOOGLE_ADS__TOKEN_URL": f"{base_url}{oauth.GOOGLE_TOKEN_PATH}",
        "SOURCES__GOOGLE_ADS__START_DATE": start.isoformat(),
        "SOURCES__GOOGLE_ADS__END_DATE": today.isoformat(),
        "SOURCES__META_ADS__API_BASE": base_url,
        "SOURCES__META_ADS__ACCOUNT_ID": _ACCOUNTS["meta_ads"],
        "SOURCES__META_ADS__ACCESS_TOKEN": meta_ads_api.SANDBOX_ACCESS_TOKEN,
        "SOURCES__META_ADS__START_DATE": start.isoformat(),
        "SOURCES__META_ADS__END_DATE": today.isoformat(),
        "SOURCES__LINKEDIN_ADS__API_BASE": base_url,
        "SOURCES__LINKEDIN_ADS__ACCOUNT_ID": _ACCOUNTS["linkedin_ads"],
        "SOURCES__LINKEDIN_ADS__CLIENT_ID": oauth.LINKEDIN_CLIENT_ID,
        "SOURCES__LINKEDIN_ADS__CLIENT_SECRET": oauth.LINKEDIN_CLIENT_SECRET,
        "SOURCES__LINKEDIN_ADS__REFRESH_TOKEN": oauth.LINKEDIN_REFRESH_TOKEN,
        "SOURCES__LINKEDIN_ADS__TOKEN_URL": f"{base_url}{oauth.LINKEDIN_TOKEN_PATH}",
        "SOURCES__LINKEDIN_ADS__START_DATE": start.isoformat(),
        "SOURCES__LINKEDIN_ADS__END_DATE": today.isoformat(),
        "SOURCES__ECB_FX__API_BASE": base_url,
        "SOURCES__ECB_FX__START_DATE": ecb_api.client_start_date(start).isoformat(),
    }
