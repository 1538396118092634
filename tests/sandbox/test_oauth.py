"""The sandbox's OAuth token endpoints, token expiry on demand, and sunset API versions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from ingestion.sources import google_ads, linkedin_ads, meta_ads
from sandbox import google_ads_api, linkedin_ads_api, meta_ads_api, oauth
from sandbox.oauth import TokenAuthority
from sandbox.server import SandboxServer, start_server
from sandbox.world import World

from .test_ads_apis import (
    DAILY_GAQL,
    GOOGLE_HEADERS,
    GOOGLE_ID,
    LINKEDIN_HEADERS,
    LINKEDIN_ID,
    META_ID,
    build_world,
)

GOOGLE_GRANT = {
    "grant_type": "refresh_token",
    "client_id": oauth.GOOGLE_CLIENT_ID,
    "client_secret": oauth.GOOGLE_CLIENT_SECRET,
    "refresh_token": oauth.GOOGLE_REFRESH_TOKEN,
}
LINKEDIN_GRANT = {
    "grant_type": "refresh_token",
    "client_id": oauth.LINKEDIN_CLIENT_ID,
    "client_secret": oauth.LINKEDIN_CLIENT_SECRET,
    "refresh_token": oauth.LINKEDIN_REFRESH_TOKEN,
}


@pytest.fixture(scope="module")
def world() -> World:
    return build_world()


def serve(world: World, tokens: TokenAuthority | None = None) -> Iterator[SandboxServer]:
    server = start_server(world, port=0, tokens=tokens)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def server(world: World) -> Iterator[SandboxServer]:
    yield from serve(world)


@pytest.fixture
def short_lived(world: World) -> Iterator[SandboxServer]:
    """Every issued token is good for two API requests."""
    yield from serve(world, TokenAuthority(lifetime_requests=2))


def token(server: SandboxServer, path: str, form: dict[str, str]) -> requests.Response:
    return requests.post(f"{server.base_url}{path}", data=form, timeout=10)


def google_search(
    server: SandboxServer, access_token: str, version: int = google_ads_api.NEWEST_VERSION
):
    url = f"{server.base_url}/v{version}/customers/{GOOGLE_ID}/googleAds:searchStream"
    headers = {**GOOGLE_HEADERS, "Authorization": f"Bearer {access_token}"}
    return requests.post(url, json={"query": DAILY_GAQL}, headers=headers, timeout=10)


def linkedin_account(
    server: SandboxServer, access_token: str, version: str = linkedin_ads_api.NEWEST_VERSION
):
    headers = {
        **LINKEDIN_HEADERS,
        "Authorization": f"Bearer {access_token}",
        "LinkedIn-Version": version,
    }
    return requests.get(
        f"{server.base_url}/rest/adAccounts/{LINKEDIN_ID}", headers=headers, timeout=10
    )


@pytest.mark.parametrize(
    ("path", "grant", "expires_in"),
    [
        (oauth.GOOGLE_TOKEN_PATH, GOOGLE_GRANT, 3599),
        (oauth.LINKEDIN_TOKEN_PATH, LINKEDIN_GRANT, 5_183_999),
    ],
)
def test_token_endpoints_issue_distinct_bearer_tokens(server, path, grant, expires_in):
    first, second = token(server, path, grant), token(server, path, grant)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.headers["Cache-Control"] == "no-store"
    body = first.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", expires_in)
    assert body["access_token"] != second.json()["access_token"]
    if path == oauth.LINKEDIN_TOKEN_PATH:  # LinkedIn hands its refresh token back
        assert body["refresh_token"] == oauth.LINKEDIN_REFRESH_TOKEN
    assert server.request_counts["oauth"] == 2


@pytest.mark.parametrize(
    ("path", "grant", "change", "status", "error"),
    [
        (
            oauth.GOOGLE_TOKEN_PATH,
            GOOGLE_GRANT,
            {"refresh_token": "1//revoked"},
            400,
            "invalid_grant",
        ),
        (oauth.GOOGLE_TOKEN_PATH, GOOGLE_GRANT, {"client_secret": "wrong"}, 401, "invalid_client"),
        (
            oauth.GOOGLE_TOKEN_PATH,
            GOOGLE_GRANT,
            {"grant_type": "password"},
            400,
            "unsupported_grant_type",
        ),
        (
            oauth.LINKEDIN_TOKEN_PATH,
            LINKEDIN_GRANT,
            {"refresh_token": "AQrevoked"},
            400,
            "invalid_request",
        ),
        (oauth.LINKEDIN_TOKEN_PATH, LINKEDIN_GRANT, {"client_id": "other"}, 401, "invalid_client"),
    ],
)
def test_token_endpoints_refuse_bad_grants_in_oauth_shape(
    server, path, grant, change, status, error
):
    response = token(server, path, {**grant, **change})
    assert response.status_code == status
    assert response.json()["error"] == error
    assert "access_token" not in response.json()
    assert not server.tokens.issued


def test_issued_tokens_live_for_their_request_count_then_expire(short_lived):
    google = token(short_lived, oauth.GOOGLE_TOKEN_PATH, GOOGLE_GRANT).json()["access_token"]
    linkedin = token(short_lived, oauth.LINKEDIN_TOKEN_PATH, LINKEDIN_GRANT).json()["access_token"]
    assert [google_search(short_lived, google).status_code for _ in range(3)] == [200, 200, 401]
    expired = google_search(short_lived, google).json()["error"]
    assert (expired["code"], expired["status"]) == (401, "UNAUTHENTICATED")  # Google's answer
    assert [linkedin_account(short_lived, linkedin).status_code for _ in range(3)] == [
        200,
        200,
        401,
    ]
    assert linkedin_account(short_lived, linkedin).json() == {
        "status": 401,
        "serviceErrorCode": 65602,
        "code": "EXPIRED_ACCESS_TOKEN",
        "message": "The token used in the request has expired",
    }
    renewed = token(short_lived, oauth.GOOGLE_TOKEN_PATH, GOOGLE_GRANT).json()["access_token"]
    assert google_search(short_lived, renewed).status_code == 200
    # a Google token is no LinkedIn token
    assert linkedin_account(short_lived, renewed).json()["code"] == "INVALID_ACCESS_TOKEN"


def test_expire_tokens_admin_endpoint_expires_every_issued_token(server):
    google = token(server, oauth.GOOGLE_TOKEN_PATH, GOOGLE_GRANT).json()["access_token"]
    linkedin = token(server, oauth.LINKEDIN_TOKEN_PATH, LINKEDIN_GRANT).json()["access_token"]
    assert google_search(server, google).status_code == 200
    assert linkedin_account(server, linkedin).status_code == 200
    assert requests.post(f"{server.base_url}/_sandbox/expire_tokens", timeout=10).json() == {
        "expired": 2
    }
    assert google_search(server, google).status_code == 401
    assert linkedin_account(server, linkedin).json()["code"] == "EXPIRED_ACCESS_TOKEN"
    # the fixed sandbox tokens never expire
    assert google_search(server, google_ads_api.SANDBOX_ACCESS_TOKEN).status_code == 200
    assert linkedin_account(server, linkedin_ads_api.SANDBOX_ACCESS_TOKEN).status_code == 200


def test_meta_answers_an_expired_long_lived_token_with_190_463(server):
    response = requests.get(
        f"{server.base_url}/v{meta_ads_api.NEWEST_VERSION[0]}.0/act_{META_ID}",
        headers={"Authorization": f"Bearer {meta_ads_api.SANDBOX_EXPIRED_ACCESS_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["error_subcode"]) == ("OAuthException", 190, 463)
    assert error["message"] == (
        "Error validating access token: Session has expired on Saturday, "
        "01-Mar-25 00:00:00 PST. The current time is Sunday, 02-Mar-25 00:00:00 PST."
    )
    assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_sunset_versions_answer_as_the_platforms_do(server):
    google = google_search(server, google_ads_api.SANDBOX_ACCESS_TOKEN, version=17).json()["error"]
    assert (google["code"], google["status"]) == (400, "INVALID_ARGUMENT")
    assert google["details"][0]["errors"][0]["errorCode"] == {"requestError": "UNSUPPORTED_VERSION"}
    assert (
        google["message"] == "Version v17 is deprecated. Requests to this version will be blocked."
    )
    assert google_search(server, google_ads_api.SANDBOX_ACCESS_TOKEN, version=99).status_code == 404

    meta = requests.get(
        f"{server.base_url}/v19.0/act_{META_ID}",
        params={"access_token": meta_ads_api.SANDBOX_ACCESS_TOKEN},
        timeout=10,
    ).json()["error"]
    assert meta["code"] == 2635
    assert meta["message"] == (
        "(#2635) You are calling a deprecated version of the Ads API. "
        "Please update to the latest version: v27.0."
    )

    linkedin = linkedin_account(server, linkedin_ads_api.SANDBOX_ACCESS_TOKEN, version="202505")
    assert (linkedin.status_code, linkedin.json()["code"]) == (426, "NONEXISTENT_VERSION")


def test_the_sources_default_versions_are_live_in_the_sandbox():
    """The defaults must be versions the platforms still serve (see the comments next to them)."""
    google = int(google_ads.DEFAULT_API_VERSION.removeprefix("v"))
    assert google_ads_api.OLDEST_VERSION <= google <= google_ads_api.NEWEST_VERSION
    meta = tuple(int(p) for p in meta_ads.DEFAULT_API_VERSION.removeprefix("v").split("."))
    assert meta_ads_api.OLDEST_VERSION <= meta <= meta_ads_api.NEWEST_VERSION
    assert (
        linkedin_ads_api.OLDEST_VERSION
        <= linkedin_ads.DEFAULT_API_VERSION
        <= linkedin_ads_api.NEWEST_VERSION
    )
