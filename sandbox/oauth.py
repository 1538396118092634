"""OAuth 2.0 token endpoints for the sandbox: Google's and LinkedIn's, and the tokens they issue.

- Google    ``POST /token``               (https://oauth2.googleapis.com/token)
- LinkedIn  ``POST /oauth/v2/accessToken`` (https://www.linkedin.com/oauth/v2/accessToken)

Both take a form with ``grant_type=refresh_token``, ``refresh_token``, ``client_id`` and
``client_secret`` and answer ``{"access_token", "expires_in", "token_type", ...}``, or the
platform's OAuth error (``invalid_grant``, ``invalid_client``, ...).

Expiry is on demand and has no clock, so tests are deterministic:

- ``lifetime_requests``: each issued token is good for that many API requests; the next one
  is answered as the platform answers an expired token (Google 401 UNAUTHENTICATED,
  LinkedIn 401 EXPIRED_ACCESS_TOKEN);
- ``POST /_sandbox/expire_tokens`` expires every token issued so far;
- ``expires_in`` is what the endpoints announce (seconds), so a client's own early renewal
  can be exercised by announcing less than its safety margin.

The fixed ``SANDBOX_ACCESS_TOKEN`` of each API layer keeps working and never expires.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sandbox.http import Request, Response

GOOGLE_TOKEN_PATH = "/token"
LINKEDIN_TOKEN_PATH = "/oauth/v2/accessToken"

#: The OAuth client and refresh token each token endpoint accepts.
GOOGLE_CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
GOOGLE_CLIENT_SECRET = "sandbox-google-client-secret"
GOOGLE_REFRESH_TOKEN = "1//sandbox-google-refresh-token"
LINKEDIN_CLIENT_ID = "sandbox-linkedin-client"
LINKEDIN_CLIENT_SECRET = "sandbox-linkedin-client-secret"
LINKEDIN_REFRESH_TOKEN = "AQsandbox-linkedin-refresh-token"

#: What the real endpoints announce: Google tokens live an hour, LinkedIn's sixty days.
GOOGLE_EXPIRES_IN = 3599
LINKEDIN_EXPIRES_IN = 5_183_999
LINKEDIN_REFRESH_EXPIRES_IN = 31_535_999


@dataclass
class _Issued:
    platform: str
    uses_left: int | None  # API requests it may still make; None: no limit
    expired: bool = False


@dataclass(frozen=True)
class _Client:
    platform: str
    client_id: str
    client_secret: str
    refresh_token: str
    expires_in: int


_CLIENTS = {
    GOOGLE_TOKEN_PATH: _Client(
        "google_ads",
        GOOGLE_CLIENT_ID,
        GOOGLE_CLIENT_SECRET,
        GOOGLE_REFRESH_TOKEN,
        GOOGLE_EXPIRES_IN,
    ),
    LINKEDIN_TOKEN_PATH: _Client(
        "linkedin_ads",
        LINKEDIN_CLIENT_ID,
        LINKEDIN_CLIENT_SECRET,
        LINKEDIN_REFRESH_TOKEN,
        LINKEDIN_EXPIRES_IN,
    ),
}


class TokenAuthority:
    """Issues access tokens and decides whether one is still good. Not thread-safe on its
    own: the server calls it under its lock."""

    def __init__(self, lifetime_requests: int | None = None, expires_in: int | None = None) -> None:
        if lifetime_requests is not None and lifetime_requests < 1:
            raise ValueError("lifetime_requests must be at least 1")
        self.lifetime_requests = lifetime_requests
        self.expires_in = expires_in
        self.issued: dict[str, _Issued] = {}
        self.grants: Counter[str] = Counter()  # tokens issued per platform

    @staticmethod
    def serves(path: str) -> bool:
        return path in _CLIENTS

    def token_endpoint(self, request: Request) -> Response:
        """Answer a token request in the shape of the platform ``request.path`` belongs to."""
        client = _CLIENTS[request.path]
        error = _refusal(client, request)
        if error is not None:
            return error
        self.grants[client.platform] += 1
        token = (
            f"{'ya29' if client.platform == 'google_ads' else 'AQX'}.sandbox-{client.platform}-"
            f"{self.grants[client.platform]}"
        )
        self.issued[token] = _Issued(client.platform, self.lifetime_requests)
        body: dict[str, object] = {
            "access_token": token,
            "expires_in": self.expires_in if self.expires_in is not None else client.expires_in,
            "token_type": "Bearer",
        }
        if client.platform == "google_ads":
            body["scope"] = "https://www.googleapis.com/auth/adwords"
        else:  # LinkedIn sends its refresh token back with what is left of its life
            body.update(
                refresh_token=client.refresh_token,
                refresh_token_expires_in=LINKEDIN_REFRESH_EXPIRES_IN,
                scope="r_ads,r_ads_reporting",
            )
        return Response.json(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def use(self, platform: str, authorization: str) -> str | None:
        """``"valid"`` (one API request spent), ``"expired"``, or None for a token this
        authority did not issue (the API layer then checks its fixed token)."""
        token = (
            authorization[len("Bearer ") :].strip() if authorization.startswith("Bearer ") else ""
        )
        issued = self.issued.get(token)
        if issued is None or issued.platform != platform:
            return None
        if issued.expired or issued.uses_left == 0:
            issued.expired = True
            return "expired"
        if issued.uses_left is not None:
            issued.uses_left -= 1
        return "valid"

    def expire_all(self) -> int:
        """Expire every token issued so far; how many were still good."""
        alive = [t for t in self.issued.values() if not t.expired]
        for token in alive:
            token.expired = True
        return len(alive)


def _refusal(client: _Client, request: Request) -> Response | None:
    """The platform's OAuth error for a bad token request, or None when it is good."""
    form = request.form()

    def arg(name: str) -> str:
        return (form.get(name) or [""])[0]

    google = client.platform == "google_ads"
    if request.method != "POST":
        return Response.json(
            {"error": "invalid_request", "error_description": "Method not allowed"}, 405
        )
    if arg("grant_type") != "refresh_token":
        description = (
            f"Invalid grant_type: {arg('grant_type')}"
            if google
            else 'A required parameter "grant_type" is missing or not supported'
        )
        return Response.json(
            {"error": "unsupported_grant_type", "error_description": description}, 400
        )
    if arg("client_id") != client.client_id or arg("client_secret") != client.client_secret:
        if google:
            return Response.json(
                {"error": "invalid_client", "error_description": "Unauthorized"}, 401
            )
        return Response.json(
            {"error": "invalid_client", "error_description": "Client authentication failed"}, 401
        )
    if arg("refresh_token") != client.refresh_token:
        if google:
            return Response.json(
                {"error": "invalid_grant", "error_description": "Bad Request"}, 400
            )
        return Response.json(
            {
                "error": "invalid_request",
                "error_description": "The provided authorization grant or refresh token is "
                "invalid, expired or revoked",
            },
            400,
        )
    return None
