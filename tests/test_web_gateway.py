"""What a browser gets from the gateway outside /api/: the web client (web/dist), with client-side
routes answered by index.html, hashed assets cached for good, every file with its Content-Type, the
app's strict Content-Security-Policy, and nothing but GET and HEAD. The APIs' answers are untouched
by it (tests/test_gateway.py covers them)."""
from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB_DIST = ROOT / "web" / "dist"

APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
           "connect-src 'self'; worker-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
           "form-action 'self'; frame-ancestors 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
IMMUTABLE = "public, max-age=31536000, immutable"


def csp_directives(policy: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (part.split() for part in policy.split(";") if part.strip())}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["status"] == status
    return response.json()


class _Document(HTMLParser):
    """The scripts and styles an HTML page loads or carries inline."""

    def __init__(self) -> None:
        super().__init__()
        self.script_sources: list[str] = []
        self.stylesheets: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if any(name.startswith("on") for name in attributes) or "style" in attributes:
            self.inline.append(f"<{tag}> with an inline handler or style")
        if tag == "script":
            self._in_script = True
            if attributes.get("src"):
                self.script_sources.append(attributes["src"] or "")
        elif tag == "style":
            self.inline.append("<style> element")
        elif tag == "link" and attributes.get("rel") in ("stylesheet", "modulepreload"):
            self.stylesheets.append(attributes.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"inline script {data.strip()[:60]!r}")


@pytest.fixture(scope="module")
def index_html() -> str:
    """The built app's index.html (make dev builds web/dist when it is missing or stale)."""
    index = WEB_DIST / "index.html"
    if not index.is_file():
        pytest.fail("web/dist/index.html is missing: the web client is not built (make web; .dev/logs/web-build.log)")
    return index.read_text()


@pytest.fixture
def served_file(pytestconfig):
    """`served_file(extension)`: the path of a new file with that extension in web/dist (removed after)."""
    if pytestconfig.getoption("gateway_url", None):
        pytest.skip("writes into this checkout's web/dist, which only the native gateway serves")
    made: list[Path] = []

    def make(extension: str) -> str:
        WEB_DIST.mkdir(parents=True, exist_ok=True)
        path = WEB_DIST / f"gateway-test-{uuid.uuid4().hex}.{extension}"
        path.write_bytes(b"gateway test\n")
        made.append(path)
        return "/" + path.name

    yield make
    for path in made:
        path.unlink(missing_ok=True)


@pytest.mark.parametrize("path", ["/", "/index.html"])
def test_the_app_is_served_at_the_root(gateway, index_html, path):
    response = gateway.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.text == index_html
    # Revalidated on each use: a new build is seen at once.
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["ETag"]


@pytest.mark.parametrize("path", ["/conversations/4f6c1a52-7a3e-4f39-9d59-1b8f0c6f1e11", "/market/items/x?page=2",
                                  "/people/some.user", "/staff", "/no/such/page"])
def test_a_client_side_route_is_answered_with_the_app(gateway, index_html, path):
    response = gateway.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.text == index_html


def test_every_asset_the_app_loads_is_served_with_its_type_and_cached_for_good(gateway, index_html):
    page = _Document()
    page.feed(index_html)
    assets = page.script_sources + page.stylesheets
    assert any(src.endswith(".js") for src in page.script_sources), "index.html loads no script"

    for src in assets:
        assert src.startswith("/assets/"), f"{src} is not one of the build's assets"
        response = gateway.get(src)
        assert response.status_code == 200, src
        expected = "text/javascript" if src.endswith(".js") else "text/css"
        assert response.headers["Content-Type"] == f"{expected}; charset=utf-8", src
        assert response.headers["Cache-Control"] == IMMUTABLE, src


def test_the_built_app_has_no_inline_script_or_style_for_the_csp_to_refuse(index_html):
    page = _Document()
    page.feed(index_html)

    assert page.inline == []


@pytest.mark.parametrize("extension, content_type", [
    ("html", "text/html; charset=utf-8"),
    ("js", "text/javascript; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("css", "text/css; charset=utf-8"),
    ("svg", "image/svg+xml; charset=utf-8"),
    ("png", "image/png"),
    ("webp", "image/webp"),
    ("ico", "image/x-icon"),
    ("json", "application/json; charset=utf-8"),
    ("map", "application/json; charset=utf-8"),
    ("woff2", "font/woff2"),
    ("txt", "text/plain; charset=utf-8"),
])
def test_each_kind_of_file_is_served_with_its_content_type(gateway, served_file, extension, content_type):
    response = gateway.get(served_file(extension))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/assets/index-NoSuchHash.js", "/assets/", "/assets/nested/missing.css"])
def test_an_asset_that_was_not_built_is_a_404_problem_not_the_app(gateway, path):
    assert_problem(gateway.get(path), 404)


@pytest.mark.parametrize("path", ["/api/auth/keys/..%2F..%2F..%2Fetc%2Fpasswd", "/api/social/..%2F..%2Fconversations",
                                  "/api/ledger/entries/..%2F..%2F..%2Findex.html", "/api/..%2Ffavicon.svg"])
def test_an_api_path_that_climbs_out_of_api_is_a_404_problem_not_the_app(gateway, path):
    assert_problem(gateway.get(path), 404)


def test_the_gateway_serves_no_metrics(gateway):
    assert_problem(gateway.get("/metrics"), 404)


@pytest.mark.parametrize("path", ["/", "/conversations/abc", "/favicon.svg"])
def test_the_app_carries_its_strict_content_security_policy(gateway, path):
    response = gateway.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == APP_CSP
    directives = csp_directives(response.headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in directives["script-src"] + directives["style-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/api/auth/healthz", "/api/social/openapi.json", "/api/no-such-thing", "/healthz",
                                  "/assets/index-NoSuchHash.js"])
def test_the_apis_and_the_gateways_own_answers_keep_the_api_policy(gateway, path):
    assert gateway.get(path).headers["Content-Security-Policy"] == API_CSP


@pytest.mark.parametrize("path", ["/api/auth/openapi.json", "/api/auth/me"])
def test_the_apis_answers_pass_through_without_the_apps_compression_charset_or_caching(gateway, path):
    # auth sets none of these itself: whatever appeared would be the gateway's.
    response = gateway.get(path, headers={"Accept-Encoding": "gzip"}, stream=True)

    assert "Content-Encoding" not in response.headers
    assert "Cache-Control" not in response.headers
    assert "charset" not in response.headers["Content-Type"]


def test_the_apps_text_files_are_compressed_for_clients_that_accept_it(gateway, index_html):
    script = re.search(r'<script[^>]+src="([^"]+)"', index_html).group(1)

    response = gateway.get(script, headers={"Accept-Encoding": "gzip"}, stream=True)

    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/conversations/abc", "/assets/index.js"])
def test_the_app_answers_only_get_and_head(gateway, method, path):
    response = gateway.request(method, path)

    assert_problem(response, 405)
    assert {m.strip() for m in response.headers["Allow"].split(",")} == {"GET", "HEAD"}


def test_head_of_the_app_has_its_headers_and_no_body(gateway, index_html):
    response = gateway.head("/conversations/abc", headers={"Accept-Encoding": "identity"})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(index_html.encode())
    assert response.content == b""


def test_a_client_side_route_is_logged_with_the_path_asked_for(gateway, request_log):
    request_id = f"web-gateway-test-{uuid.uuid4().hex}"

    gateway.get("/conversations/abc?secret=1", headers={"X-Request-ID": request_id})

    logged = request_log("gateway", request_id)
    assert (logged["path"], logged["status"]) == ("/conversations/abc", 200)
