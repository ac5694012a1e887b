"""PDF rendering with WeasyPrint, meant to run in a worker's process pool.

Templates are Jinja in a sandbox, fed with plain data. The URL fetcher serves only the project's
own files, addressed as `kepuri-media:<relative path>` under the media root, and inline `data:`
images (a certificate's QR code); `file://`, outside hosts and every other scheme are refused.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

MEDIA_SCHEME = "kepuri-media:"
TEMPLATES = Path(__file__).resolve().parent.parent / "kepuri" / "templates" / "documents"

_templates = SandboxedEnvironment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
)
_font_config: Any = None  # one FontConfiguration per process


def render_html(template: str, data: dict[str, Any]) -> str:
    return _templates.get_template(template).render(**data)


def _fetcher(media_root: Path) -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = media_root.resolve()

    class OwnFilesOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:image/"):
                return super().fetch(url, headers)
            if not url.startswith(MEDIA_SCHEME):
                raise ValueError(f"refused: {url[:40]}")
            path = (root / url.removeprefix(MEDIA_SCHEME)).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                raise ValueError("refused: not a project file")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": kind})

    return OwnFilesOnly(fail_on_errors=False)


def render_pdf(html: str, media_root: str) -> bytes:
    """HTML to PDF bytes (runs in a pool process; keeps one font configuration)."""
    global _font_config
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    if _font_config is None:
        _font_config = FontConfiguration()
    document = HTML(string=html, url_fetcher=_fetcher(Path(media_root)), base_url=MEDIA_SCHEME)
    return document.write_pdf(font_config=_font_config)
