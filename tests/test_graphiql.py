"""GraphiQL works without the internet: its files come from the app itself, exactly the releases
its page names, and a browser cut off from everything but the app runs a query in it."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
from playwright.async_api import expect

from kepuri import graphiql
from tests.browser import chromium


async def test_the_page_names_only_files_the_app_serves_byte_for_byte(served):
    async with httpx.AsyncClient(base_url=served) as client:
        page = (await client.get("/graphql", headers={"accept": "text/html"})).text
        names = re.findall(r'(?:src|href)="([^"]+)"\s+integrity="sha384-([^"]+)"', page)
        assert len(names) == len(graphiql.SERVED)
        for url, integrity in names:
            assert url.startswith(f"{graphiql.PREFIX}/"), url
            body = (await client.get(url)).content
            assert base64.b64encode(hashlib.sha384(body).digest()).decode() == integrity, url
    assert "https://" not in re.sub(r"http://www\.w3\.org/2000/svg", "", page)
    assert (graphiql.FILES / "LICENSES.md").read_text().count("MIT") >= 5


async def test_graphiql_runs_a_query_with_the_network_cut_off(served):
    outside: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page()

        async def only_the_app(route):
            if route.request.url.startswith(served):
                await route.continue_()
            else:
                outside.append(route.request.url)
                await route.abort()

        await page.route("**/*", only_the_app)
        await page.goto(f"{served}/graphql")
        run = page.locator(".graphiql-execute-button")
        await expect(run).to_be_visible(timeout=20_000)
        editor = ".graphiql-query-editor .CodeMirror"
        await page.wait_for_selector(editor)
        query = "{ regions { code } }"
        await page.evaluate(f"document.querySelector('{editor}').CodeMirror.setValue('{query}')")
        await run.click()
        await expect(page.locator(".graphiql-response")).to_contain_text(
            '"regions"', timeout=20_000
        )
        await expect(page.locator(".graphiql-response")).to_contain_text('"110000"')

    assert outside == []
