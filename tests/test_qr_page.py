"""The page behind the QR code, in a real browser (Debian's chromium driven by Playwright):
open it, sign in with an SMS code, check in, like, comment, and see the counts change."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from tests.browser import PHONE, chromium
from tests.conftest import Api, china, last_code, set_now
from tests.factories import filing_unit, make_activity, make_campaign


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
    async with chromium() as browser:
        context = await browser.new_context(**PHONE)
        page = await context.new_page()
        await page.goto(f"{served}/a/{activity.qr_token}")
        assert await page.text_content("h1") == "扫码体验：机器人科普秀"
        assert await page.text_content("#check-ins") == "0"
        assert await page.is_hidden("#act-box")

        await _sign_in(page, base_settings)

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


async def test_the_page_before_during_and_after_the_activity(served, activity, base_settings):
    """At phone size: the description and the poster; check-in that says it has not started,
    is open, has ended; likes and favourites that say their state in words; the agreement one
    tap away; signing out; the unknown-token page in the same look."""
    from infra import storage

    activity.description = "机器人表演与互动体验。\n适合全家参加。"
    activity.poster = await storage.save("posters/robot.png", _png())
    await activity.save()
    async with chromium() as browser:
        context = await browser.new_context(**PHONE)
        page = await context.new_page()
        check_in = page.locator("#check-in")

        set_now(china("2026-09-20 07:30"))  # check-in opens an hour before the start
        await page.goto(f"{served}/a/{activity.qr_token}")
        await expect(page.locator("#description")).to_have_text(
            "机器人表演与互动体验。\n适合全家参加。"
        )
        assert await page.evaluate("document.querySelector('img.poster').naturalWidth") == 8
        await _sign_in(page, base_settings)
        await expect(check_in).to_have_text("活动未开始")
        await expect(check_in).to_be_disabled()

        set_now(china("2026-09-20 10:00"))
        await page.reload()
        await expect(check_in).to_have_text("扫码打卡")
        await check_in.click()
        await expect(check_in).to_have_text("已打卡")
        await expect(page.locator("#like")).to_have_text("点赞")
        await page.click("#like")
        await expect(page.locator("#like")).to_have_text("已点赞")
        await page.click("#favorite")
        await expect(page.locator("#favorite")).to_have_text("已收藏")
        await page.click("#favorite")
        await expect(page.locator("#favorite")).to_have_text("收藏")

        set_now(china("2026-09-20 18:30"))
        await page.reload()
        await expect(check_in).to_have_text("已打卡")  # what this person did stays said
        await page.click("#sign-out")
        await expect(page.locator("#sign-in-box")).to_be_visible()
        await expect(page.locator("#act-box")).to_be_hidden()
        await page.reload()
        await expect(page.locator("#sign-in-box")).to_be_visible()  # for good
        async with context.expect_page() as opened:
            await page.click("label.agree a")
        agreement = await opened.value
        await expect(agreement.locator("h1")).to_have_text("云上科普日网络服务使用协议")

        await _sign_in(page, base_settings, "13955550002")
        await expect(check_in).to_have_text("活动已结束")
        await expect(check_in).to_be_disabled()

        await page.goto(f"{served}/a/ABCDEFGHJKMN")
        await expect(page.locator("h1")).to_have_text("活动不存在或尚未通过审核")
        assert await page.locator("header").count() == 1  # the look of the other pages
        await expect(page.locator("footer")).to_contain_text("全国科普日活动平台")


async def _sign_in(page, settings, phone: str = "13955550001") -> None:
    await page.fill("#phone", phone)
    await page.click("#send-code")
    await page.wait_for_selector("#message.ok")
    await page.fill("#code", last_code(settings, phone))
    await page.check("#agree")
    await page.click("#sign-in")
    await page.wait_for_selector("#act-box", state="visible")


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 6), "#1761c9").save(out, "PNG")
    return out.getvalue()


async def test_a_registered_volunteer_checks_in_and_out_on_the_page(
    served, api: Api, base_settings
):
    from models import Volunteer

    campaign = await make_campaign()
    unit, _ = await filing_unit(api)
    happening = await make_activity(unit, campaign, title="科普志愿服务日")
    set_now(china("2026-09-20 10:00"))
    await Volunteer.create(activity=happening, phone="13955550002", name="志愿者")
    async with chromium() as browser:
        page = await (await browser.new_context(**PHONE)).new_page()
        await page.goto(f"{served}/a/{happening.qr_token}")
        await _sign_in(page, base_settings, "13955550002")
        await page.wait_for_selector("#volunteer-box", state="visible")
        assert await page.text_content("#volunteer") == "志愿者签到"

        await page.click("#volunteer")
        await expect(page.locator("#volunteer")).to_have_text("志愿者签退")
        set_now(china("2026-09-20 11:30"))
        await page.click("#volunteer")
        await expect(page.locator("#volunteer")).to_have_text("志愿者签到")
        await expect(page.locator("#volunteer-hours")).to_contain_text("1.5 小时")

    served_here = await Volunteer.get(phone="13955550002")
    assert served_here.minutes == 90 and served_here.user_id is not None
