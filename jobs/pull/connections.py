"""Which API a vendor's pull talks to, and with what token: an Airflow connection.

The CLI and the DAGs resolve connections the same way, through Airflow's own lookup
(``BaseHook.get_connection``): environment variables ``AIRFLOW_CONN_ONA_MSGRAPH`` /
``AIRFLOW_CONN_ONA_GOOGLE`` / ``AIRFLOW_CONN_ONA_SLACK`` (JSON or URI form), a secrets backend,
or the metadata DB. Form of a connection (docs/pull.md):

    {"conn_type": "http", "host": "<API base URL>", "password": "<bearer token>",
     "extra": {...production credential flow, see docs/pull.md...}}
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Callable

from jobs.pull.http import ApiClient, ApiUnreachable, AuthError, PullError
from jobs.source_kinds import connection_id


class NotConfiguredError(PullError):
    exit_code = 2


@dataclass(frozen=True)
class ApiConnection:
    vendor: str
    host: str | None
    token: str | None
    extra: dict = field(default_factory=dict)


def get(vendor: str) -> ApiConnection | None:
    """The vendor's connection, or None when none is defined."""
    conn_id = connection_id(vendor)
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - AirflowNotFoundException and friends: not configured
        return None
    extra = conn.extra_dejson if conn.extra else {}
    return ApiConnection(vendor, (conn.host or None), conn.password or None, dict(extra))


def is_configured(vendor: str) -> bool:
    return get(vendor) is not None


def client(vendor: str, base_url: str | None, **kwargs) -> ApiClient:
    """An ApiClient for the vendor's connection at ``base_url`` (the connection's host, or the
    API's public host); NotConfiguredError when there is no connection."""
    conn = get(vendor)
    if conn is None:
        raise NotConfiguredError(
            f"{vendor}: no Airflow connection {connection_id(vendor)!r} "
            f"(set AIRFLOW_CONN_{connection_id(vendor).upper()}, see docs/pull.md)"
        )
    if not base_url:
        raise NotConfiguredError(f"{vendor}: the connection has no host and the vendor no default")
    provider = _token_provider(conn, kwargs.get("transport"))
    if provider is None and not conn.token:
        raise NotConfiguredError(f"{vendor}: the connection has neither a token (password) nor a credential flow (extra)")
    return ApiClient(vendor, base_url, token=conn.token, token_provider=provider, **kwargs)


def _token_provider(conn: ApiConnection, transport=None) -> Callable[[], str] | None:
    """Production credential flows named in the connection's extra (docs/pull.md):

    * ``{"flow": "client_credentials", "tenant_id", "client_id", "client_secret"}`` (Graph:
      OAuth 2.0 client credentials against the Microsoft identity platform; ``token_url``
      overrides the endpoint);
    * ``{"flow": "service_account", "key_json": ..., "subject": admin address, "scopes": [...]}``
      (Google: a service account with domain-wide delegation, through google-auth).
    """
    flow = conn.extra.get("flow")
    if not flow:
        return None
    if flow == "client_credentials":
        return _ClientCredentials(conn.extra, transport)
    if flow == "service_account":
        return _ServiceAccount(conn.extra)
    raise NotConfiguredError(f"{conn.vendor}: unknown credential flow {flow!r} in the connection's extra")


class _ClientCredentials:
    def __init__(self, extra: dict, transport=None):
        tenant = extra.get("tenant_id", "")
        self.url = extra.get("token_url") or f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
        self.form = {
            "grant_type": "client_credentials",
            "client_id": extra.get("client_id", ""),
            "client_secret": extra.get("client_secret", ""),
            "scope": extra.get("scope", "https://graph.microsoft.com/.default"),
        }
        self.transport = transport
        self.token: str | None = None
        self.expires = 0.0

    def __call__(self) -> str:
        import httpx

        if self.token is None or time.monotonic() > self.expires - 60:
            try:
                with httpx.Client(transport=self.transport, timeout=30) as http:
                    response = http.post(self.url, data=self.form)
            except httpx.TransportError as exc:
                raise ApiUnreachable(f"msgraph: the token endpoint is unreachable ({type(exc).__name__})") from None
            if response.status_code != 200:
                raise AuthError(f"msgraph: the token endpoint answered HTTP {response.status_code}")
            try:
                body = response.json()
                self.token = str(body["access_token"])
                self.expires = time.monotonic() + float(body.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError):
                raise AuthError("msgraph: the token endpoint's answer holds no access_token") from None
        return self.token


class _ServiceAccount:
    def __init__(self, extra: dict):
        key = extra.get("key_json")
        self.info = json.loads(key) if isinstance(key, str) else key
        self.subject = extra.get("subject")
        self.scopes = extra.get("scopes") or [
            "https://www.googleapis.com/auth/admin.directory.user.readonly",
            "https://www.googleapis.com/auth/gmail.metadata",
            "https://www.googleapis.com/auth/calendar.readonly",
        ]
        self.credentials = None

    def __call__(self) -> str:
        try:
            from google.auth.transport.requests import Request
            from google.oauth2 import service_account
        except ImportError as exc:  # optional: only production Google deployments need it
            raise NotConfiguredError("google: the service_account flow needs the google-auth package") from exc
        if self.credentials is None:
            self.credentials = service_account.Credentials.from_service_account_info(
                self.info, scopes=self.scopes, subject=self.subject)
        if not self.credentials.valid:
            self.credentials.refresh(Request())
        return self.credentials.token
