"""The emulator's HTTP server: routes by vendor prefix, fault injection, a request log.

    with Emulator(org) as emu:         # serves http://127.0.0.1:<free port>
        emu.base("msgraph")            # -> http://127.0.0.1:PORT/msgraph/v1.0
        emu.faults.rate_limit_every = 5  # every 5th request of the whole server gets a 429
        emu.log                         # [Request(vendor, method, path, query, status)]

A vendor module registers one handler: ``handler(emu, request) -> Response``. Handlers read
``emu.org`` (the organisation, mutable between passes) and ``emu.faults``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

TOKEN = "emulator-token"

# vendor -> (path prefix after the vendor segment, handler)
HANDLERS: dict[str, Callable[["Emulator", "Request"], "Response"]] = {}
BASE_PATHS = {"msgraph": "/msgraph/v1.0", "google": "/google", "slack": "/slack/api"}


def handler(vendor: str):
    def register(fn):
        HANDLERS[vendor] = fn
        return fn

    return register


@dataclass
class Request:
    vendor: str
    method: str
    path: str  # below the vendor's base path, e.g. "/users/u1/manager"
    query: dict[str, str]  # first value of each parameter
    multi: dict[str, list[str]]  # every value (Gmail repeats metadataHeaders)
    headers: dict[str, str]
    status: int = 0


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def ok(body: Any) -> Response:
    return Response(200, body)


def error(status: int, body: Any = None, **headers: str) -> Response:
    return Response(status, body if body is not None else {"error": {"code": status}}, dict(headers))


@dataclass
class Faults:
    """Faults the server injects before any handler runs. Counts are over the whole server."""

    rate_limit_every: int = 0  # every Nth request answers 429 (0: never)
    retry_after: str = "0"  # Retry-After header value of those 429s
    unavailable_once: set[str] = field(default_factory=set)  # path substrings: first hit -> 503
    reject_token: bool = False  # every request -> 401 (Slack: 200 with ok:false)
    _hits: int = 0
    _unavailable_done: set[str] = field(default_factory=set)


class Emulator:
    def __init__(self, org, page_size: int = 2):
        self.org = org
        self.page_size = page_size
        self.faults = Faults()
        self.log: list[Request] = []
        self.state: dict[str, Any] = {}  # handlers' own bookkeeping (tokens issued...)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "Emulator":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        emulator = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                emulator._serve(self, "GET")

            def do_POST(self):  # noqa: N802
                emulator._serve(self, "POST")

            def log_message(self, *args):  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def root(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def base(self, vendor: str) -> str:
        return self.root + BASE_PATHS[vendor]

    def connection_json(self, vendor: str) -> str:
        """The AIRFLOW_CONN_ONA_<VENDOR> value that points a pull at this emulator."""
        return json.dumps({"conn_type": "http", "host": self.base(vendor), "password": TOKEN})

    # ------------------------------------------------------------------ queries on the log
    def requests(self, vendor: str | None = None, contains: str = "") -> list[Request]:
        return [r for r in self.log if (vendor is None or r.vendor == vendor) and contains in r.path]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    # ------------------------------------------------------------------ serving
    def _serve(self, http: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(http.path)
        vendor, path = None, url.path
        for name, prefix in BASE_PATHS.items():
            if url.path.startswith(prefix):
                vendor, path = name, url.path[len(prefix):] or "/"
        multi = parse_qs(url.query, keep_blank_values=True)
        if method == "POST":
            length = int(http.headers.get("Content-Length") or 0)
            body = http.rfile.read(length).decode() if length else ""
            for k, v in parse_qs(body, keep_blank_values=True).items():
                multi.setdefault(k, []).extend(v)
        request = Request(vendor or "?", method, path, {k: v[0] for k, v in multi.items()}, multi,
                          {k.lower(): v for k, v in http.headers.items()})
        with self._lock:
            self.log.append(request)
            response = self._faulted(request)
        if response is None:
            if vendor is None or vendor not in HANDLERS:
                response = error(404)
            else:
                try:
                    response = HANDLERS[vendor](self, request)
                except Exception as exc:  # noqa: BLE001 - a handler bug is a 500 the test sees
                    response = error(500, {"error": f"emulator: {type(exc).__name__}: {exc}"})
        request.status = response.status
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        http.send_response(response.status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            http.send_header(name, value)
        http.end_headers()
        http.wfile.write(payload)

    def _faulted(self, request: Request) -> Response | None:
        faults = self.faults
        faults._hits += 1
        if faults.reject_token or request.headers.get("authorization") != f"Bearer {TOKEN}":
            if request.vendor == "slack":
                return ok({"ok": False, "error": "invalid_auth"})
            return error(401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token is invalid."}})
        if faults.rate_limit_every and faults._hits % faults.rate_limit_every == 0:
            body = {"ok": False, "error": "ratelimited"} if request.vendor == "slack" else {"error": {"code": 429}}
            return error(429, body, **{"Retry-After": faults.retry_after})
        for needle in faults.unavailable_once:
            if needle in request.path and needle not in faults._unavailable_done:
                faults._unavailable_done.add(needle)
                return error(503, {"error": {"code": 503, "message": "Service Unavailable"}})
        return None
