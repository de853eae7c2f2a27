"""The moderator's page: static HTML, CSS and JavaScript modules served by the service itself.

The page is not an API endpoint (no key is needed to load it; every call it makes sends the
moderator's key), so it sits beside the route table like /openapi.json. It gets its own
Content-Security-Policy: scripts, styles, fetches and images from this origin only, nothing
inline, nothing evaluated, no framing, no form posts.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "moderate"
PAGE_PATH = "/moderate"
ASSETS_PATH = "/moderate/assets"

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def add_page_routes(app: web.Application) -> None:
    index = (STATIC_DIR / "index.html").read_bytes()

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            body=index,
            content_type="text/html",
            charset="utf-8",
            headers={"Content-Security-Policy": PAGE_CSP},
        )

    async def to_page(request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect(PAGE_PATH)

    app.router.add_get(PAGE_PATH, page, name="moderate_page")
    app.router.add_get(PAGE_PATH + "/", to_page, name="moderate_page_slash")
    app.router.add_static(ASSETS_PATH, STATIC_DIR, name="moderate_assets", follow_symlinks=False)
