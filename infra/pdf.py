"""PDF rendering with WeasyPrint, meant to run in a worker's process pool.

Templates are Jinja in a sandbox, fed with plain data. Images come inline, as `data:` URIs (a
photo read from storage, a QR code): the URL fetcher refuses everything else (`file://`, hosts,
every other scheme), so rendering reads no file and asks nothing of the network, wherever the
media are stored.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

INLINE_ONLY = "kepuri-inline:"  # the base of relative URLs: a scheme nothing is fetched from
TEMPLATES = Path(__file__).resolve().parent.parent / "kepuri" / "templates" / "documents"

_templates = SandboxedEnvironment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
)
_font_config: Any = None  # one FontConfiguration per process


def render_html(template: str, data: dict[str, Any]) -> str:
    return _templates.get_template(template).render(**data)


def data_uri(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64," + base64.b64encode(data).decode()


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    class InlineImagesOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:image/"):
                return super().fetch(url, headers)
            raise ValueError(f"refused: {url[:40]}")

    return InlineImagesOnly(fail_on_errors=False)


def render_pdf(html: str) -> bytes:
    """HTML to PDF bytes (runs in a pool process; keeps one font configuration)."""
    global _font_config
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    if _font_config is None:
        _font_config = FontConfiguration()
    document = HTML(string=html, url_fetcher=_fetcher(), base_url=INLINE_ONLY)
    return document.write_pdf(font_config=_font_config)
