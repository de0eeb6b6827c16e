"""The one HTTP client every API source uses: retries, Retry-After, error classes, counters."""

from __future__ import annotations

import httpx
import pytest

from jobs.pull.http import ApiClient, ApiError, ApiUnreachable, AuthError


def client_for(responses: list, waits: list) -> tuple[ApiClient, list]:
    """A client whose server answers the given (status, headers, body) in turn."""
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, headers, body = responses[min(len(seen), len(responses)) - 1]
        return httpx.Response(status, headers=headers, json=body)

    return ApiClient("test", "http://127.0.0.1:9/api/", token="t0ken-value", sleep=waits.append,
                     transport=httpx.MockTransport(answer)), seen


def test_429_waits_retry_after_then_succeeds_and_counts():
    waits = []
    client, seen = client_for([(429, {"Retry-After": "7"}, {}), (429, {"Retry-After": "2"}, {}),
                               (200, {}, {"ok": True})], waits)
    assert client.get("users", {"limit": 2}) == (200, {"ok": True})
    assert waits == [7.0, 2.0]
    assert len(seen) == 3 and client.sent == 3
    assert client.requests["retry 429"] == 2 and client.requests["GET 200"] == 1
    assert seen[0].headers["authorization"] == "Bearer t0ken-value"
    assert str(seen[0].url) == "http://127.0.0.1:9/api/users?limit=2"


def test_5xx_backs_off_and_gives_up_as_unreachable():
    waits = []
    client, seen = client_for([(503, {}, {})], waits)
    with pytest.raises(ApiUnreachable) as error:
        client.get("users", {"q": "ann@example.org"})
    assert len(seen) == client.max_attempts == 6
    assert len(waits) == 5 and all(w > 0 for w in waits) and waits[-1] > waits[0]
    # One clear line, no query string (it can hold addresses) and no token.
    assert "ann@example.org" not in str(error.value) and "t0ken" not in str(error.value)
    assert error.value.exit_code == 5


def test_a_retry_after_beyond_the_cap_is_unreachable_at_once():
    waits = []
    client, seen = client_for([(429, {"Retry-After": "3600"}, {})], waits)
    with pytest.raises(ApiUnreachable):
        client.get("users")
    assert waits == [] and len(seen) == 1


def test_401_is_an_auth_error_without_retry():
    waits = []
    client, seen = client_for([(401, {}, {"error": "bad"})], waits)
    with pytest.raises(AuthError) as error:
        client.get("users")
    assert len(seen) == 1 and waits == [] and error.value.exit_code == 4


def test_allowed_statuses_reach_the_caller_and_others_are_api_errors():
    client, _ = client_for([(410, {}, {"error": {"code": "SyncStateNotFound"}})], [])
    assert client.get("delta", allow=(410,)) == (410, {"error": {"code": "SyncStateNotFound"}})
    client, _ = client_for([(400, {}, {})], [])
    with pytest.raises(ApiError) as error:
        client.get("delta")
    assert error.value.exit_code == 6


def test_transport_errors_are_retried():
    waits, calls = [], []

    def answer(request):
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json={"n": 1})

    client = ApiClient("test", "http://127.0.0.1:9", token="t", sleep=waits.append,
                       transport=httpx.MockTransport(answer))
    assert client.get("x") == (200, {"n": 1})
    assert len(calls) == 2 and len(waits) == 1 and client.requests["transport error"] == 1


def test_errors_show_the_endpoint_not_addresses_or_record_ids():
    client, _ = client_for([(400, {}, {})], [])
    with pytest.raises(ApiError) as error:
        client.get("gmail/v1/users/ann.lee%40example.org/messages/18c2f9a4b7e1d0c3", {"format": "metadata"})
    assert str(error.value) == "test: HTTP 400 on GET /api/gmail/v1/users/{address}/messages/{id}"
    client, _ = client_for([(400, {}, {})], [])
    with pytest.raises(ApiError) as error:
        client.get("users/00000000-0000-4000-8000-000000000001/mailFolders/inbox/messages/delta")
    assert str(error.value) == "test: HTTP 400 on GET /api/users/{id}/mailFolders/inbox/messages/delta"


def test_client_credentials_flow_fetches_renews_and_fails_clearly():
    from jobs.pull.connections import ApiConnection, _token_provider

    posts = []

    def token_endpoint(request):
        posts.append(request)
        if len(posts) == 1:
            return httpx.Response(200, json={"access_token": "tok-1", "expires_in": 3600})
        if len(posts) == 2:
            return httpx.Response(401, json={"error": "invalid_client"})
        return httpx.Response(200, json={"unexpected": True})

    extra = {"flow": "client_credentials", "tenant_id": "t1", "client_id": "c1", "client_secret": "s3cret"}
    provider = _token_provider(ApiConnection("msgraph", None, None, extra), httpx.MockTransport(token_endpoint))
    assert provider() == "tok-1" and provider() == "tok-1"  # cached while valid
    assert len(posts) == 1 and str(posts[0].url) == "https://login.microsoftonline.com/t1/oauth2/v2.0/token"
    assert b"grant_type=client_credentials" in posts[0].content
    provider.expires = 0  # expired: renewed
    with pytest.raises(AuthError) as error:
        provider()
    assert "s3cret" not in str(error.value) and error.value.exit_code == 4
    with pytest.raises(AuthError, match="no access_token"):
        provider()
