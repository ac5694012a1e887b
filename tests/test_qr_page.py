"""The page behind the QR code, in a real browser (Debian's chromium driven by Playwright):
open it, sign in with an SMS code, check in, like, comment, and see the counts change."""

from __future__ import annotations

import shutil

import httpx
import pytest
from playwright.async_api import async_playwright, expect

from tests.conftest import Api, china, last_code, set_now
from tests.factories import filing_unit, make_activity, make_campaign

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
async def activity(api: Api):
    campaign = await make_campaign()
    unit, _ = await filing_unit(api)
    happening = await make_activity(
        unit,
        campaign,
        starts_at="2026-09-20 09:00",
        ends_at="2026-09-20 17:00",
        title="扫码体验：机器人科普秀",
    )
    set_now(china("2026-09-20 10:00"))
    return happening


async def test_unknown_and_unapproved_tokens_get_a_chinese_404(served, activity):
    async with httpx.AsyncClient(base_url=served) as client:
        unknown = await client.get("/a/ABCDEFGHJKMN")
        garbage = await client.get("/a/<script>")
        page = await client.get(f"/a/{activity.qr_token}")

    assert unknown.status_code == garbage.status_code == 404
    assert "活动不存在" in unknown.text
    assert page.status_code == 200
    assert "扫码体验：机器人科普秀" in page.text and "2026年全国科普日活动" in page.text
    assert "<script>x" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


async def test_a_phone_signs_in_checks_in_likes_and_comments(served, activity, base_settings):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is missing: `make test` installs it"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844},
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
            )
            page = await context.new_page()
            await page.goto(f"{served}/a/{activity.qr_token}")
            assert await page.text_content("h1") == "扫码体验：机器人科普秀"
            assert await page.text_content("#check-ins") == "0"
            assert await page.is_hidden("#act-box")

            await page.fill("#phone", "13955550001")
            await page.click("#send-code")
            await page.wait_for_selector("#message.ok")
            await page.fill("#code", last_code(base_settings, "13955550001"))
            await page.check("#agree")
            await page.click("#sign-in")
            await page.wait_for_selector("#act-box", state="visible")

            await page.click("#check-in")
            await expect(page.locator("#check-ins")).to_have_text("1")
            await page.click("#like")
            await expect(page.locator("#likes")).to_have_text("1")
            await page.fill("#comment-body", "机器人太酷了！<b>点赞</b>")
            await page.click("#comment-send")
            # shown as written, as text: the markup is not applied
            await expect(page.locator("#comments")).to_contain_text("机器人太酷了！<b>点赞</b>")

            assert await page.text_content("#check-in") == "已打卡"
            assert await page.get_attribute("#like", "aria-pressed") == "true"
            assert await page.locator("#comments b").count() == 0
            assert await page.text_content("#comments-count") == "1"

            await page.reload()  # the session survives a reload
            await expect(page.locator("#check-in")).to_have_text("已打卡")
            assert await page.is_visible("#act-box")
        finally:
            await browser.close()


async def test_text_is_shown_as_written_and_escaped(served, api: Api):
    """Titles are stored as written ("<实验>" is not markup) and escaped on the page."""
    campaign = await make_campaign()
    unit, _ = await filing_unit(api)
    written = await make_activity(unit, campaign, title="<b>科普</b> 3<5 &lt;")
    set_now(china("2026-09-20 10:00"))

    async with httpx.AsyncClient(base_url=served) as client:
        page = await client.get(f"/a/{written.qr_token}")

    assert "&lt;b&gt;科普&lt;/b&gt; 3&lt;5 &amp;lt;" in page.text
    assert "<b>科普</b>" not in page.text
