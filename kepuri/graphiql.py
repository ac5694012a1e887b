"""GraphiQL served whole by the app: strawberry's page, with the files it would load from a public
CDN (unpkg) served from kepuri/static/graphiql instead. A newcomer's machine without internet, or
a network in mainland China where the CDN is slow or blocked, still gets a working GraphiQL.

The files are byte for byte the releases the page names (the page's own integrity attributes
say so, and tests/test_graphiql.py checks it); their licences are in LICENSES.md beside them.
"""

from __future__ import annotations

import functools
from pathlib import Path

from starlette.staticfiles import StaticFiles
from strawberry.http.ides import get_graphql_ide_html

FILES = Path(__file__).parent / "static" / "graphiql"
PREFIX = "/graphiql"
SERVED = {
    "https://unpkg.com/react@18.2.0/umd/react.production.min.js": "react.production.min.js",
    "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js": (
        "react-dom.production.min.js"
    ),
    "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js": "js.cookie.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": "graphiql.min.css",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": "graphiql.min.js",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css": "plugin-explorer.css",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": (
        "plugin-explorer.umd.js"
    ),
}


@functools.cache
def page() -> str:
    """Strawberry's GraphiQL page, naming the files served here."""
    html = get_graphql_ide_html("graphiql")
    for url, name in SERVED.items():
        if url not in html:  # a new strawberry names other releases: fetch those (LICENSES.md)
            raise RuntimeError(f"strawberry's GraphiQL page no longer loads {url}")
        html = html.replace(url, f"{PREFIX}/{name}")
    return html.replace("<title>Strawberry GraphiQL</title>", "<title>kepuri · GraphiQL</title>")


def files() -> StaticFiles:
    return StaticFiles(directory=FILES)
