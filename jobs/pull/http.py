"""One HTTP layer for every API source: bearer auth, paging-friendly GETs, retries.

Built on httpx (already in the stack through Airflow) with tenacity for the retry policy, so
that Microsoft Graph, Google and Slack share exactly one behaviour (docs/pull.md):

* HTTP 429: wait ``Retry-After`` seconds (capped), then retry;
* HTTP 5xx and transport errors: exponential backoff with jitter, then retry;
* HTTP 401/403: ``AuthError`` at once (a retry cannot fix a bad token);
* statuses the caller expects (``allow=``, e.g. 404/410 for expired sync tokens) come back
  to the caller, who starts a full resync;
* anything else: ``ApiError``; retries used up: ``ApiUnreachable``.

Nothing a request returns is logged: only method, path template and status, because URLs and
bodies can hold addresses (tokens never reach a log: they travel in a header).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

import httpx
import tenacity

log = logging.getLogger("ona.pull")
# httpx logs every full URL at INFO, query string included: that would put addresses (Gmail and
# Calendar paths hold them) and channel ids in Airflow's task logs.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

MAX_RETRY_AFTER_S = 120.0  # a server asking for longer is treated as unreachable for this run


class PullError(RuntimeError):
    """Base of the errors that stop a pull with one clear line (and a documented exit code)."""

    exit_code = 1


class AuthError(PullError):
    exit_code = 4


class ApiUnreachable(PullError):
    exit_code = 5


class ApiError(PullError):
    exit_code = 6


class _Retryable(Exception):
    def __init__(self, reason: str, wait_s: float | None = None):
        super().__init__(reason)
        self.wait_s = wait_s


@dataclass
class ApiClient:
    """GET JSON from one API root with a bearer token; counts every request it sends."""

    name: str  # "msgraph", "google", "slack": used in errors and counters
    base_url: str
    token: str | None = None
    token_provider: Callable[[], str] | None = None  # production flows (client credentials...)
    max_attempts: int = 6
    backoff_s: float = 0.5  # first 5xx wait; doubles, with jitter
    timeout_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    transport: httpx.BaseTransport | None = None
    requests: Counter = field(default_factory=Counter)  # "GET 200" -> n, "retry 429" -> n

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._http = httpx.Client(timeout=self.timeout_s, transport=self.transport, follow_redirects=False)
        self._backoff = tenacity.wait_exponential_jitter(multiplier=self.backoff_s, max=30, jitter=self.backoff_s)

    def close(self) -> None:
        self._http.close()

    @property
    def sent(self) -> int:
        """Requests sent, retries included."""
        return sum(n for k, n in self.requests.items() if k.startswith("GET ") or k.startswith("POST "))

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def _headers(self) -> dict[str, str]:
        token = self.token_provider() if self.token_provider else self.token
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def get(self, path_or_url: str, params: dict[str, Any] | None = None,
            allow: tuple[int, ...] = ()) -> tuple[int, Any]:
        """(status, decoded JSON body) of a GET; see the module docstring for errors."""
        return self.request("GET", path_or_url, params=params, allow=allow)

    def request(self, method: str, path_or_url: str, params: dict[str, Any] | None = None,
                allow: tuple[int, ...] = (), data: dict[str, Any] | None = None) -> tuple[int, Any]:
        url = self.url(path_or_url)
        shown = _shown(url)

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retryable) and exc.wait_s is not None:
                return exc.wait_s
            return self._backoff(state)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=wait,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, url, shown, params, allow, data)
        except _Retryable as exc:
            raise ApiUnreachable(f"{self.name}: {method} {shown} failed after {self.max_attempts} attempts ({exc})") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method, url, shown, params, allow, data) -> tuple[int, Any]:
        try:
            response = self._http.request(method, url, params=params, data=data, headers=self._headers())
        except httpx.TransportError as exc:
            self.requests["transport error"] += 1
            raise _Retryable(type(exc).__name__) from None
        status = response.status_code
        self.requests[f"{method} {status}"] += 1
        log.debug("%s %s %s -> %d", self.name, method, shown, status)
        if status == 429:
            self.requests["retry 429"] += 1
            wait_s = _retry_after(response.headers.get("Retry-After"))
            if wait_s > MAX_RETRY_AFTER_S:
                raise ApiUnreachable(f"{self.name}: rate limited for {wait_s:.0f} s on {shown}")
            raise _Retryable("HTTP 429", wait_s)
        if status >= 500:
            self.requests[f"retry {status}"] += 1
            raise _Retryable(f"HTTP {status}")
        if status in allow:
            return status, _json(response)
        if status in (401, 403):
            raise AuthError(f"{self.name}: HTTP {status} on {method} {shown}: the token was refused")
        if status >= 400:
            raise ApiError(f"{self.name}: HTTP {status} on {method} {shown}")
        return status, _json(response)


def _shown(url: str) -> str:
    """A URL as logs and errors show it: its path only (a query string can hold addresses or
    tokens), with addresses (Google reads mailboxes and calendars by address) and record ids
    (a Gmail message id, a Graph user or item id: any segment of 12 or more characters holding
    a digit) masked, so that an error line identifies the endpoint and nothing else."""
    def mask(part: str) -> str:
        text = unquote(part)
        if "@" in text:
            return "{address}"
        if len(text) >= 12 and any(c.isdigit() for c in text):
            return "{id}"
        return part

    return "/".join(mask(part) for part in urlsplit(url).path.split("/"))


def _retry_after(value: str | None) -> float:
    """Retry-After in seconds (the delta-seconds form; an HTTP date or junk waits 1 s)."""
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
