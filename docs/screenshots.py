"""The README's screenshots, taken from a fresh demo as a newcomer gets it (`make screenshots`):
the page behind an activity's QR code on a phone, GraphiQL with a query run, and the first page
of a province's summary report. Everything runs on this machine, in a folder of its own (the
embedded pair), and nothing is asked of the network."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pypdfium2 as pdfium
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.clock import today  # noqa: E402 (the repository's root, above)
from tests.browser import PHONE, chromium  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
KEPURI = [sys.executable, "-m", "kepuri.cli"]
SCHOOL_FILER = {"phone": "13800000004", "password": "Kepuri2026"}
LOGIN = """mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { token } }"""
MINE = "{ myActivities(first: 20) { edges { node { status startsAt qrCode { token } } } } }"
QUERY = """{
  activities(
    filter: {regionCode: "510100", year: %d}
    first: 3
  ) {
    totalCount
    edges {
      node {
        title
        startsAt
        organization { name }
        engagement { checkIns likes }
      }
    }
  }
}"""


def save(image: Image.Image, name: str) -> None:
    """A PNG of at most 256 colours: screenshots of text stay sharp and small."""
    path = OUT / name
    image.convert("RGB").quantize(256).save(path, optimize=True)
    print(f"{path.relative_to(ROOT)}: {image.width}×{image.height}, {path.stat().st_size} bytes")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def served_until_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            if server.poll() is not None:
                raise SystemExit("kepuri serve stopped")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("kepuri serve did not become ready")


async def qr_token(base: str) -> str:
    """The school's approved activity that is under way (the demo has one)."""
    async with httpx.AsyncClient(base_url=base) as client:
        login = await client.post("/graphql", json={"query": LOGIN, "variables": SCHOOL_FILER})
        token = login.json()["data"]["login"]["token"]
        mine = await client.post(
            "/graphql", json={"query": MINE}, headers={"Authorization": f"Bearer {token}"}
        )
    edges = mine.json()["data"]["myActivities"]["edges"]
    approved = [e["node"] for e in edges if e["node"]["status"] == "APPROVED"]
    return str(max(approved, key=lambda a: a["startsAt"])["qrCode"]["token"])


async def shoot(base: str, year: int) -> None:
    async with chromium() as browser:
        phone = await browser.new_context(**{**PHONE, "device_scale_factor": 2})
        page = await phone.new_page()
        await page.goto(f"{base}/a/{await qr_token(base)}")
        await page.wait_for_load_state("networkidle")
        save(Image.open(io.BytesIO(await page.screenshot(full_page=True))), "qr-page.png")

        desktop = await browser.new_context(viewport={"width": 1280, "height": 760})
        page = await desktop.new_page()
        await page.goto(f"{base}/graphql")
        run = page.locator(".graphiql-execute-button")
        await run.wait_for(timeout=20_000)
        editor = ".graphiql-query-editor .CodeMirror"
        await page.evaluate(
            "([selector, text]) => document.querySelector(selector).CodeMirror.setValue(text)",
            [editor, QUERY % year],
        )
        await run.click()
        await page.locator(".graphiql-response").get_by_text('"totalCount"').wait_for()
        save(Image.open(io.BytesIO(await page.screenshot())), "graphiql.png")


def report_page(pdf: Path) -> None:
    page = pdfium.PdfDocument(pdf.read_bytes())[0]
    save(page.render(scale=1.6).to_pil(), "report.png")


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as var:
        env = {
            **os.environ,
            "KEPURI_VAR_DIR": var,
            "DATABASE_URL": "",
            "REDIS_URL": "",
            "LOG_LEVEL": "WARNING",
        }

        def kepuri(*args: str) -> None:
            subprocess.run([*KEPURI, *args], env=env, check=True, stdout=subprocess.DEVNULL)

        kepuri("migrate")
        kepuri("seed-demo")
        year = today().year  # the demo's current campaign
        report = Path(var) / "report.pdf"
        kepuri("report", str(year), "--region", "510000", "--output", str(report))
        report_page(report)
        port = free_port()
        server = subprocess.Popen([*KEPURI, "serve", "--port", str(port)], env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            await served_until_ready(base, server)
            await shoot(base, year)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
