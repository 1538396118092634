"""OAuth 2.0 refresh-token authentication for sources that run unattended (Google Ads, LinkedIn).

A fixed access token lives an hour (Google) or sixty days (LinkedIn), so a nightly cannot be
given one. It is given a refresh token instead and trades it at the platform's token endpoint
(RFC 6749 section 6) for an access token whenever it needs one:

- before the first request, and again ``refresh_margin`` seconds before the token's
  ``expires_in`` runs out (dlt's ``OAuth2ClientCredentials`` caches token and expiry);
- when the API answers 401 anyway (the token was revoked or expired early): the token is
  renewed once and the same request sent again, so a run that crosses an expiry loads
  exactly what an uninterrupted run loads. A second 401 is a real refusal and ends the run.

A refused refresh token (``invalid_grant``) or client (``invalid_client``) ends the run in one
line naming the settings to fix; no secret is ever part of a message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from dlt.common.configuration.specs.base_configuration import configspec
from dlt.common.pendulum import pendulum
from dlt.common.typing import TSecretStrValue
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from requests import PreparedRequest, Response

from ingestion.common.errors import SourceHTTPError

#: Marks a request already sent again after a 401, so it is never retried twice.
_RETRIED = "_northstar_token_refreshed"


@configspec
class RefreshTokenAuth(OAuth2ClientCredentials):
    """dlt's client-credentials authenticator, trading a refresh token instead.

    ``settings`` is the ``SOURCES__<SOURCE>__`` prefix used to name what to fix in messages.
    """

    refresh_token: TSecretStrValue = None
    source: str = None
    settings: str = None
    #: Renew this many seconds before the announced expiry (clocks drift, requests take time).
    refresh_margin: int = 60

    def build_access_token_request(self) -> dict[str, Any]:
        return {
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "data": {
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                **self.access_token_request_data,
            },
        }

    def is_token_expired(self) -> bool:
        return pendulum.now() >= self.token_expiry.subtract(seconds=self.refresh_margin)

    def obtain_token(self) -> None:
        """A new access token from the token endpoint, or a one-line SourceHTTPError."""
        response = self.session.post(self.access_token_url, **self.build_access_token_request())
        if response.status_code >= 400:
            raise SourceHTTPError(
                self.source, response.status_code, _path(response), self._refusal(response)
            )
        try:
            body = response.json()
            token = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise SourceHTTPError(
                self.source,
                response.status_code,
                _path(response),
                "the token endpoint answered without an access_token",
            ) from None
        self.access_token = str(token)
        self.token_expiry = pendulum.now().add(seconds=self.parse_expiration_in_seconds(body))

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request = super().__call__(request)
        # Registered while the request is prepared, so it runs before the request's own
        # response hooks (which turn a 401 into a failure).
        request.register_hook("response", self._renew_on_401)
        return request

    def _renew_on_401(self, response: Response, *args: Any, **kwargs: Any) -> Response | None:
        request = response.request
        if response.status_code != 401 or getattr(request, _RETRIED, False):
            return None
        self.obtain_token()
        request.headers["Authorization"] = f"Bearer {self.access_token}"
        setattr(request, _RETRIED, True)
        _ = response.content  # read the 401 to the end so its connection can be reused
        response.close()
        # ``kwargs`` are the send options (timeout, verify, ...) of the first attempt.
        again = response.connection.send(request, **kwargs)
        again.history.append(response)
        again.request = request
        return again

    def _refusal(self, response: Response) -> str:
        """The endpoint's OAuth error code and what to fix, with any secret blanked out."""
        try:
            body = response.json()
            error = str(body.get("error") or "")
            description = str(body.get("error_description") or "")
        except (ValueError, AttributeError):
            error, description = "", response.reason or ""
        if error == "invalid_client" or response.status_code == 401:
            fix = f"check {self.settings}CLIENT_ID and {self.settings}CLIENT_SECRET"
        else:
            fix = f"renew the refresh token and set {self.settings}REFRESH_TOKEN"
        said = ": ".join(part for part in (error, description) if part)
        text = f"the token endpoint refused the credentials ({said}); {fix}" if said else fix
        for secret in (self.refresh_token, self.client_secret, self.access_token):
            if secret:
                text = text.replace(str(secret), "***")
        return text[:300]


def _path(response: Response) -> str:
    return urlsplit(response.url or "").path
