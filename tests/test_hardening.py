"""The public endpoint against abuse and malformed input: every request answers with a code and
changes nothing when refused; cost is bounded before execution; uploads are judged by their
header; limits hold under concurrency; webhooks reach only the public internet."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import struct
import subprocess
import sys
import zlib
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import redis.asyncio

from models import Activity, User, VerificationCode, Webhook
from schema.ids import decode_global_id, to_global_id
from services.counters import Counters
from tests.conftest import ROOT, Api, last_code, run_worker, sms_messages
from tests.factories import (
    activity_input,
    filing_unit,
    make_activity,
    make_campaign,
    make_user,
    person,
    table_state,
)
from tests.test_browsing import count_queries
from tests.test_portals import approved_activity, portal, receiver  # noqa: F401 (fixtures)

LIST = """
query($first: Int, $after: String) { activities(first: $first, after: $after) { edges { cursor } } }
"""


async def raw(
    app: Any,
    content: bytes = b"",
    *,
    content_type: str | None = "application/json",
    method: str = "POST",
    path: str = "/graphql",
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("10.8.8.8", 4000))
    sent = dict(headers or {})
    if content_type:
        sent["content-type"] = content_type
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.request(method, path, content=content, headers=sent, params=params)


def error_codes(response: httpx.Response) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in response.json().get("errors", [])]


# ---------------------------------------------------------------- the HTTP layer


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'"{ me { name } }"',
        b"null",
        b"42",
        b'{"query": "\xff\xfe"}',  # not UTF-8
        b'{"query": "{ regions { code } }", "variables": {"a": "\\ud800"}}',  # a lone surrogate
        b'{"query": ' + b"[" * 2000 + b"]" * 2000 + b"}",
        b'{"query": "{ regions { code } }", "variables": {"a": ' + b"[" * 40 + b"]" * 40 + b"}}",
        b'{"query": 5}',
        b'{"query": "{ regions { code } }", "variables": [1]}',
        b"",
    ],
)
async def test_a_body_that_is_not_one_json_object_is_refused_with_a_code(app, body):
    response = await raw(app, body)

    assert response.status_code == 400
    assert error_codes(response) == ["BAD_REQUEST"]
    assert response.json()["errors"][0]["message"].isascii() is False  # said in Chinese


MULTIPART = "multipart/form-data; boundary=b"


def _part(name: str, value: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--b\r\nContent-Disposition: {disposition}\r\n\r\n{value}\r\n".encode()


OPERATIONS = json.dumps({"query": "mutation($f: Upload) { __typename }", "variables": {"f": None}})


@pytest.mark.parametrize(
    "parts",
    [
        [_part("map", "{}")],  # no operations
        [_part("operations", "{x"), _part("map", "{}")],
        [_part("operations", "[5]"), _part("map", "{}")],
        [_part("operations", OPERATIONS), _part("map", '{"0": 5}'), _part("0", "abc", "a")],
        [_part("operations", OPERATIONS), _part("map", '{"0": []}'), _part("0", "abc", "a")],
        [_part("operations", OPERATIONS), _part("map", '{"0": ["f"]}'), _part("0", "abc", "a")],
        [
            _part("operations", OPERATIONS),
            _part("map", '{"0": ["variables.f.x.y"]}'),
            _part("0", "abc", "a"),
        ],
        [_part("operations", OPERATIONS), _part("map", '{"0": ["variables.f"]}')],  # no file
        [b"garbage"],
    ],
)
async def test_a_multipart_request_that_breaks_the_spec_is_refused_with_a_code(app, parts):
    body = b"".join(parts) + b"--b--\r\n"

    response = await raw(
        app, body, content_type=MULTIPART, headers={"Apollo-Require-Preflight": "true"}
    )

    assert response.status_code == 400, response.text
    assert error_codes(response) == ["BAD_REQUEST"]


REQUEST_CODE = (
    'mutation { requestVerificationCode(phone: "13955556666", purpose: REGISTER) { sent } }'
)


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("text/plain", json.dumps({"query": REQUEST_CODE}).encode(), 415, "UNSUPPORTED_MEDIA_TYPE"),
        (
            "application/x-www-form-urlencoded",
            b"query=" + REQUEST_CODE.encode(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            MULTIPART,
            _part("operations", json.dumps({"query": REQUEST_CODE}))
            + _part("map", "{}")
            + b"--b--\r\n",
            400,
            "CSRF_REFUSED",
        ),
        (None, json.dumps({"query": REQUEST_CODE}).encode(), 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
async def test_no_mutation_runs_from_a_request_a_browser_sends_cross_site_unasked(
    app, base_settings, content_type, body, status, code
):
    """A browser sends these to another site without asking it first (CORS "simple"
    requests): none of them may run a mutation, here one that would send an SMS."""
    response = await raw(app, body, content_type=content_type)

    assert (response.status_code, error_codes(response)) == (status, [code])
    assert sms_messages(base_settings) == []


async def test_a_mutation_over_get_is_refused(app, base_settings):
    response = await raw(app, method="GET", content_type=None, params={"query": REQUEST_CODE})

    assert (response.status_code, error_codes(response)) == (405, ["METHOD_NOT_ALLOWED"])
    assert sms_messages(base_settings) == []


async def test_an_upload_with_a_preflighted_header_goes_through(api: Api):
    """Apollo's upload clients send Apollo-Require-Preflight; an Authorization header does the
    same (a browser preflights it): `Api.upload` sends the bearer token."""
    await make_campaign()
    _, filer = await filing_unit(api)

    data = await api.upload(
        "mutation($input: ActivityInput!) { createActivity(input: $input) { errors { code } } }",
        {"input": {**activity_input(), "poster": None}},
        {"input.poster": _png(8, 8)},
        token=filer.token,
    )

    assert data["createActivity"]["errors"] == []


# ---------------------------------------------------------------- values at the boundary


def _cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!!",
        _cursor(["2026-09-01T00:00:00+00:00", 10**30]),  # past 64 bits
        _cursor(["2026-09-01T00:00:00+00:00", -1]),
        _cursor(["9999-12-31T23:59:59-23:59", 1]),  # a date no conversion survives
        _cursor(["0001-01-01T00:00:00+14:00", 1]),
        _cursor(["2026-09-01T00:00:00", 1]),  # no offset
        _cursor(["2026-09-01T00:00:00+00:00", 1.5]),
        _cursor({"a": 1}),
        _cursor(["2026-09-01T00:00:00+00:00", 1, 2]),
        _cursor(["x" * 300, 1]),
    ],
)
async def test_a_cursor_that_decodes_to_nonsense_is_invalid_cursor(api: Api, cursor):
    body = await api.post(LIST, {"after": cursor})

    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_CURSOR"]


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "1899-12-31T23:00:00Z"]
)
async def test_moments_outside_the_platform_s_years_are_bad_user_input(api: Api, moment):
    query = "query($t: DateTime) { activities(filter: {startsAfter: $t}) { totalCount } }"
    literal = '{ activities(filter: {startsAfter: "' + moment + '"}) { totalCount } }'

    by_variable = await api.post(query, {"t": moment})
    by_literal = await api.post(literal)

    assert [e["extensions"]["code"] for e in by_variable["errors"]] == ["BAD_USER_INPUT"]
    assert [e["extensions"]["code"] for e in by_literal["errors"]] == ["BAD_USER_INPUT"]
    assert "1900" in by_variable["errors"][0]["message"]


async def test_a_nul_character_is_refused_wherever_it_comes_and_nothing_is_written(api: Api):
    you = await person(api, "13977778888", "原名")
    update = "mutation($n: String) { updateProfile(input: {name: $n}) { errors { code } } }"

    by_variable = await api.post(update, {"n": "改\x00名"}, token=you.token)
    by_literal = await api.post(
        'mutation { updateProfile(input: {name: "改\\u0000名"}) { errors { code } } }',
        token=you.token,
    )
    nested = await api.post(
        "query($f: ActivityFilter) { activities(filter: $f) { totalCount } }",
        {"f": {"search": "科普\x00"}},
    )

    for body in (by_variable, by_literal, nested):
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body
        assert body["data"] is None
    assert (await User.get(id=you.user.id)).name == "原名"


def _same_bytes_other_spelling(canonical: str) -> str:
    """The ID with other bits where base64 ignores them (where it is padded), else with padding
    it does not need (which base64 ignores too): which one depends on the row's id."""
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/":
        stripped = canonical.rstrip("=")
        other = stripped[:-1] + letter + canonical[len(stripped) :]
        if other != canonical and base64.b64decode(other) == base64.b64decode(canonical):
            return other
    return canonical + "=="


SPELLINGS = {
    "a leading zero": lambda pk: base64.b64encode(f"Activity:0{pk}".encode()).decode(),
    "a sign": lambda pk: base64.b64encode(f"Activity:+{pk}".encode()).decode(),
    "Arabic-Indic digits": lambda pk: base64.b64encode(
        b"Activity:" + str(pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")).encode()
    ).decode(),
    "a space": lambda pk: base64.b64encode(f"Activity: {pk}".encode()).decode(),
    "spare bits": lambda pk: _same_bytes_other_spelling(to_global_id("Activity", pk)),
    "past 64 bits": lambda pk: base64.b64encode(f"Activity:{pk}{'0' * 20}".encode()).decode(),
}


async def test_an_id_past_its_column_names_nothing(api: Api):
    """A key beyond the primary key's column (int4 for most tables) is an ID of nothing, not a
    database error (PostgreSQL refuses such a parameter)."""
    huge = 2**31
    queries = {
        "activity": "query($id: ID!) { activity(id: $id) { id } }",
        "node": "query($id: ID!) { node(id: $id) { id } }",
    }

    answers = {
        name: await api.post(query, {"id": to_global_id("Activity", huge)})
        for name, query in queries.items()
    }

    assert answers["activity"] == {**answers["activity"], "data": {"activity": None}}
    assert "errors" not in answers["activity"] and "errors" not in answers["node"]
    assert answers["node"]["data"] == {"node": None}
    assert decode_global_id(to_global_id("ActivityChange", huge)) == ("ActivityChange", huge)


@pytest.mark.parametrize("name", list(SPELLINGS))
async def test_an_id_is_accepted_in_the_one_spelling_the_api_writes(api: Api, name):
    campaign = await make_campaign()
    unit, _ = await filing_unit(api)
    activity = await make_activity(unit, campaign)
    query = "query($id: ID!) { activity(id: $id) { title } }"
    like = "mutation($id: ID!) { setLike(activityId: $id, liked: true) { errors { code } } }"
    fan = await person(api, "13977770000")
    other = SPELLINGS[name](activity.id)
    assert other != to_global_id("Activity", activity.id)

    canonical = await api.data(query, {"id": to_global_id("Activity", activity.id)})
    read = await api.data(query, {"id": other})
    liked = await api.data(like, {"id": other}, token=fan.token)

    assert canonical["activity"] is not None
    assert read["activity"] is None
    assert liked["setLike"]["errors"] == [{"code": "INVALID"}]


@pytest.mark.parametrize(
    "params",
    [
        {"expires": "²", "sig": "0" * 64},  # str.isdigit() says yes, int() says no
        {"expires": "9" * 5000, "sig": "0" * 64},  # more digits than int() takes
        {"expires": "9999999999", "sig": "不是十六进制"},
        {"expires": "", "sig": ""},
        {},
    ],
)
async def test_signed_link_parameters_that_are_not_what_they_should_be_are_403(app, params):
    for path in ("/documents/1", "/certificates/ABCDEF123456", f"/documents/{10**30}"):
        response = await raw(app, method="GET", path=path, params=params, content_type=None)

        assert response.status_code in (403, 404), (path, response.status_code)


# ---------------------------------------------------------------- cost before execution

HEAVY = (
    "{ "
    + " ".join(
        f"a{i}: activities(first: 100) {{ edges {{ node {{ title region {{ name }} "
        "organization { name } jointAction { name } engagement { likes } } } }"
        for i in range(30)
    )
    + " }"
)


async def test_thirty_aliases_of_a_full_list_are_refused_before_anything_runs(api: Api):
    with count_queries() as seen:
        body = await api.post(HEAVY)

    error = body["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["cost"] > error["extensions"]["limit"] == 1000
    assert str(error["extensions"]["cost"]) in error["message"]
    assert body.get("data") is None
    assert seen == []


async def test_every_response_reports_its_cost_and_the_caller_s_budget(api: Api):
    you = await person(api, "13977771111")
    one = "{ activities(first: 10) { edges { node { title region { name } } } } }"

    anonymous = await api.post(one)
    signed_in = await api.post(one, token=you.token)

    assert anonymous["extensions"]["cost"] == {"requestedQueryCost": 32, "maximumAvailable": 1000}
    assert signed_in["extensions"]["cost"] == {"requestedQueryCost": 32, "maximumAvailable": 5000}


async def test_a_signed_in_caller_has_the_larger_budget(api: Api):
    you = await person(api, "13977772222")
    three = (
        "{ "
        + " ".join(
            f"a{i}: activities(first: 100) {{ edges {{ node {{ title region {{ name }} "
            "organization { name } } } }"
            for i in range(3)
        )
        + " }"
    )

    anonymous = await api.post(three)
    signed_in = await api.post(three, token=you.token)

    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert "errors" not in signed_in
    assert signed_in["extensions"]["cost"]["requestedQueryCost"] == 1206


async def test_every_client_operation_fits_the_budget_of_its_callers_at_the_largest_page(app):
    """The contract's operations at `first: 100` stay within the budgets: no client of the
    platform is refused for asking what it was built to ask."""
    from graphql import parse

    from schema import build_schema
    from schema.cost import operation_cost
    from tests.test_contract import client_operations

    schema = build_schema()._schema
    costs = {
        name: operation_cost(schema, parse(text), name, {"first": 100})
        for name, text in client_operations().items()
    }

    assert max(costs.values()) <= 5000, costs
    assert costs["Activities"] <= 1000
    assert costs["Activity"] <= 1000


# ---------------------------------------------------------------- errors that say what to do


async def test_an_unexpected_error_carries_the_request_id_of_its_response(api: Api, monkeypatch):
    import resolvers.organizations as module

    async def broken(parent_code):
        raise RuntimeError("bug")

    monkeypatch.setattr(module, "children_of", broken)

    body = await api.post("{ regions { code } }")

    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"] == api.last_response.headers["x-request-id"]


async def test_an_outage_answers_service_unavailable_without_saying_where(api: Api, app):
    campaign = await make_campaign()
    unit, _ = await filing_unit(api)
    await make_activity(unit, campaign)
    runtime = app.state.runtime
    working = runtime.counters
    runtime.counters = Counters(redis.asyncio.Redis(host="127.0.0.1", port=1))  # nobody there
    try:
        body = await api.post("{ activities { edges { node { engagement { likes } } } } }")
    finally:
        await runtime.counters.redis.aclose()
        runtime.counters = working

    error = body["errors"][0]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["retryAfter"] > 0
    assert "127.0.0.1" not in json.dumps(body) and "Connect" not in json.dumps(body)


async def test_an_outage_outside_graphql_is_503_with_retry_after(app, monkeypatch):
    from tortoise.exceptions import DBConnectionError

    from services import certificates

    async def away(*args, **kwargs):
        raise DBConnectionError("connection to server at 10.0.0.5 refused")

    monkeypatch.setattr(certificates, "verify", away)

    response = await raw(app, method="GET", path="/verify/ABCDEF123456", content_type=None)

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "10.0.0.5" not in response.text
    assert error_codes(response) == ["SERVICE_UNAVAILABLE"]


async def test_a_mutation_that_forgot_its_permission_class_is_forbidden_for_anonymous(
    api: Api, monkeypatch
):
    from schema.permissions import IsAuthenticated

    monkeypatch.setattr(IsAuthenticated, "has_permission", lambda *args, **kwargs: True)

    body = await api.post(
        'mutation { changePassword(oldPassword: "a1234567", newPassword: "b1234567") { ok } }'
    )

    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


# ---------------------------------------------------------------- uploads judged by their header


def _png(width: int, height: int, colour_type: int = 0, bit_depth: int = 8) -> bytes:
    """A real PNG of zeros, compressed row by row: a few hundred kilobytes can decode to
    gigabytes."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = b"\x00" + bytes(width * channels * bit_depth // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def _gif(width: int, height: int) -> bytes:
    """A one-pixel GIF whose screen and frame say `width` × `height`."""
    from PIL import Image

    out = __import__("io").BytesIO()
    Image.new("P", (1, 1)).save(out, "GIF")
    data = bytearray(out.getvalue())
    data[6:10] = struct.pack("<HH", width, height)
    frame = data.index(b",")
    data[frame + 5 : frame + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def _jpeg(width: int, height: int) -> bytes:
    from PIL import Image

    out = __import__("io").BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _animated_webp(width: int, height: int) -> bytes:
    """A two-frame WebP of 1×1 frames on a canvas of `width` × `height` (valid: frames may be
    smaller than the canvas)."""
    from PIL import Image

    out = __import__("io").BytesIO()
    frames = [Image.new("RGB", (1, 1), c) for c in ("red", "blue")]
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    data = bytearray(out.getvalue())
    vp8x = data.index(b"VP8X")
    data[vp8x + 12 : vp8x + 15] = (width - 1).to_bytes(3, "little")
    data[vp8x + 15 : vp8x + 18] = (height - 1).to_bytes(3, "little")
    return bytes(data)


BOMBS = {
    "png of 110 megapixels": lambda: _png(20_000, 5_500),
    "png that fits the pixels but not the memory": lambda: _png(7_000, 7_000, colour_type=6),
    "gif": lambda: _gif(60_000, 60_000),
    "jpeg": lambda: _jpeg(65_000, 65_000),
    "animated webp": lambda: _animated_webp(16_000, 16_000),
}


@pytest.mark.parametrize("name", list(BOMBS))
async def test_an_image_that_would_decode_too_large_is_refused_from_its_header(api: Api, name):
    await make_campaign()
    _, filer = await filing_unit(api)
    bomb = BOMBS[name]()
    assert len(bomb) < 1_000_000
    transport = httpx.ASGITransport(app=api.app, client=(api.ip, 40000))
    mapping = {"0": ["variables.input.poster"]}
    form = {
        "operations": json.dumps(
            {
                "query": "mutation($input: ActivityInput!) "
                "{ createActivity(input: $input) { errors { field code } } }",
                "variables": {"input": {**activity_input(), "poster": None}},
            }
        ),
        "map": json.dumps(mapping),
    }
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            "/graphql",
            data=form,
            files={"0": ("bomb", bomb)},
            headers={"Authorization": f"Bearer {filer.token}"},
        )

    assert response.json()["data"]["createActivity"]["errors"] == [
        {"field": "poster", "code": "IMAGE_TOO_LARGE"}
    ]
    assert await Activity.all().count() == 0


def test_refusing_a_bomb_takes_no_memory():
    """In a process of its own, so that its peak memory is its own: judging a PNG that decodes
    to over half a gigabyte raises the peak by a few megabytes, not by what it would decode to."""
    script = f"""
import resource, sys
sys.path.insert(0, {str(ROOT)!r})
from tests.test_hardening import _png
from infra.errors import ServiceError
from infra.images import _normalize
bomb = _png(20_000, 5_500)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    _normalize(bomb, "poster")
except ServiceError as error:
    print(error.errors[0].code.value, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()

    assert out[0] == "IMAGE_TOO_LARGE"
    assert int(out[1]) < 20_000  # kilobytes


async def test_a_real_photo_still_goes_through(api: Api):
    from infra.images import normalize_image

    image, extension = await normalize_image(_png(3000, 2000, colour_type=2), "poster")

    assert extension == "jpg" and image[:2] == b"\xff\xd8"


# ---------------------------------------------------------------- limits under concurrency

LOGIN = """
mutation($p: String!, $w: String!) { login(phone: $p, password: $w) { token errors { code } } }
"""


async def test_concurrent_wrong_passwords_are_evaluated_no_more_than_the_limit(
    api: Api, monkeypatch
):
    import services.accounts as accounts

    await make_user("13966660001")
    evaluated = 0
    real = accounts.verify_password

    async def counting(stored, given):
        nonlocal evaluated
        evaluated += 1
        return await real(stored, given)

    monkeypatch.setattr(accounts, "verify_password", counting)

    answers = await asyncio.gather(
        *(api.data(LOGIN, {"p": "13966660001", "w": f"wrong{i}x1"}) for i in range(30))
    )

    found = [a["login"]["errors"][0]["code"] for a in answers]
    assert evaluated == 5
    assert found.count("INVALID_CREDENTIALS") == 5
    assert found.count("RATE_LIMITED") == 25


async def test_a_correct_password_forgets_the_phone_s_failed_attempts(api: Api):
    await make_user("13966660002")
    for i in range(4):
        await api.data(LOGIN, {"p": "13966660002", "w": f"wrong{i}x1"})

    ok = await api.data(LOGIN, {"p": "13966660002", "w": "Passw0rd1"})
    again = [await api.data(LOGIN, {"p": "13966660002", "w": f"bad{i}x1"}) for i in range(5)]

    assert ok["login"]["token"]
    assert [a["login"]["errors"][0]["code"] for a in again] == ["INVALID_CREDENTIALS"] * 5


REQUEST = (
    "mutation($p: String!, $k: VerificationPurpose!) "
    "{ requestVerificationCode(phone: $p, purpose: $k) { sent errors { code } } }"
)
REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { token errors { code } } }"


async def test_concurrent_code_guesses_get_no_more_tries_than_the_code_allows(
    api: Api, base_settings
):
    await api.data(REQUEST, {"p": "13966660003", "k": "REGISTER"})
    right = last_code(base_settings, "13966660003")
    wrong = [f"{(int(right) + i) % 1_000_000:06d}" for i in range(1, 31)]

    def form(code: str) -> dict:
        return {
            "i": {
                "phone": "13966660003",
                "code": code,
                "password": "Passw0rd1",
                "name": "猜码人",
                "acceptAgreement": True,
            }
        }

    answers = await asyncio.gather(*(api.data(REGISTER, form(c)) for c in wrong))
    late = await api.data(REGISTER, form(right))

    found = [a["register"]["errors"][0]["code"] for a in answers]
    assert found.count("CODE_INVALID") + found.count("CODE_TOO_MANY_ATTEMPTS") == 30
    assert (await VerificationCode.get(phone="13966660003")).attempts == 5
    assert late["register"]["errors"][0]["code"] == "CODE_TOO_MANY_ATTEMPTS"
    assert await User.filter(phone="13966660003").count() == 0


async def test_concurrent_code_requests_for_one_phone_send_one_code(api: Api, base_settings):
    answers = await asyncio.gather(
        *(api.data(REQUEST, {"p": "13966660004", "k": "REGISTER"}) for _ in range(10))
    )

    assert sum(a["requestVerificationCode"]["sent"] for a in answers) == 1
    assert len(sms_messages(base_settings)) == 1


async def test_finding_out_whether_a_phone_is_registered_is_limited_like_a_code(api: Api):
    await make_user("13966660005")

    first = await api.data(REQUEST, {"p": "13966660005", "k": "REGISTER"})
    second = await api.data(REQUEST, {"p": "13966660005", "k": "REGISTER"})

    assert first["requestVerificationCode"]["errors"][0]["code"] == "PHONE_ALREADY_REGISTERED"
    assert second["requestVerificationCode"]["errors"][0]["code"] == "RATE_LIMITED"


async def test_adding_members_by_phone_is_limited_per_account(api: Api, settings):
    settings(rate_limit_member_lookup="3/hour")
    unit, admin = await filing_unit(api)
    add = (
        "mutation($o: ID!, $p: String!) "
        "{ addMember(organizationId: $o, phone: $p, role: FILER) { errors { code } } }"
    )
    org = to_global_id("Organization", unit.id)

    answers = [
        (await api.data(add, {"o": org, "p": f"1396666010{i}"}, token=admin.token))["addMember"]
        for i in range(4)
    ]

    assert [a["errors"][0]["code"] for a in answers] == ["USER_NOT_FOUND"] * 3 + ["RATE_LIMITED"]


# ---------------------------------------------------------------- webhooks reach the internet only

WEBHOOK = """
mutation($url: String!) {
  createWebhook(input: {url: $url, events: ["ACTIVITY_PUBLISHED"]}) {
    webhook { id } errors { code }
  }
}
"""


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://127.0.0.1:9/hook",
        "http://100.64.0.1/hook",  # carrier-grade NAT
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://[::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",  # IPv4-mapped
        "http://[2002:a00:1::1]/hook",  # 6to4 of 10.0.0.1
        "http://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "http://localhost:8080/hook",
    ],
)
async def test_a_webhook_to_an_address_that_is_not_public_is_refused_when_created(api: Api, url):
    admin = await _national_admin(api)

    made = (await api.data(WEBHOOK, {"url": url}, token=admin.token))["createWebhook"]

    assert made["errors"] == [{"code": "ADDRESS_NOT_ALLOWED"}]
    assert await Webhook.all().count() == 0


async def _national_admin(api: Api):
    from models.enums import MemberRole
    from tests.factories import grant, national_organizer

    admin = await person(api, "13966669999", "国家管理员")
    await grant(admin.user, await national_organizer(), MemberRole.ADMIN)
    return admin


async def test_a_delivery_connects_to_the_address_it_checked(
    api: Api,
    app,
    base_settings,
    portal,  # noqa: F811 (the fixture of test_portals)
    receiver,  # noqa: F811
    monkeypatch,
):
    """The name is looked up once per try, and the request goes to that address with the
    name as its Host: a DNS answer that changes after the check cannot redirect it."""
    port, handler = receiver
    lookups: list[str] = []
    real = socket.getaddrinfo

    store = urlparse(base_settings.s3_endpoint_url).hostname  # media in object storage, if so

    def resolver(host, *args, **kwargs):
        if host != store:
            lookups.append(host)
        return real("127.0.0.1" if host == "hooks.kepuri.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    allowed = (f"hooks.kepuri.test:{port}",)
    app.state.runtime.settings = app.state.runtime.settings.with_overrides(
        webhook_allowed_hosts=allowed
    )
    made = await api.data(
        WEBHOOK, {"url": f"http://hooks.kepuri.test:{port}/hook"}, token=portal["sichuan"]
    )
    assert made["createWebhook"]["errors"] == []
    await approved_activity(api, portal, "按地址送达")
    lookups.clear()

    await run_worker(
        app,
        base_settings.with_overrides(webhook_allowed_hosts=allowed, webhook_retry_scale=0.001),
    )

    assert len(handler.received) == 1
    assert handler.received[0]["headers"]["Host"] == f"hooks.kepuri.test:{port}"
    assert lookups == ["hooks.kepuri.test"]


# ---------------------------------------------------------------- every mutation, anonymously

# Mutations a person without an account may call: they answer with a payload (of errors) instead.
PUBLIC_MUTATIONS = {
    "requestVerificationCode",
    "register",
    "login",
    "signInWithCode",
    "resetPassword",
    "logout",  # a no-op without a session
}


def _value(kind: Any) -> Any:
    """A plausible value of a GraphQL input type (required input fields filled)."""
    from graphql import (
        GraphQLEnumType,
        GraphQLInputObjectType,
        GraphQLList,
        GraphQLNonNull,
        GraphQLScalarType,
    )

    if isinstance(kind, GraphQLNonNull):
        return _value(kind.of_type)
    if isinstance(kind, GraphQLList):
        return [_value(kind.of_type)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {
            name: _value(f.type)
            for name, f in kind.fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is graphql_undefined()
        }
    assert isinstance(kind, GraphQLScalarType)
    return {
        "String": "13912340000",
        "ID": to_global_id("Activity", 1),
        "Int": 2026,
        "Float": 1.0,
        "Boolean": True,
        "DateTime": "2026-09-20T09:00:00+08:00",
        "Date": "2026-09-20",
        "Upload": None,
    }[kind.name]


def graphql_undefined() -> Any:
    from graphql.pyutils import Undefined

    return Undefined


def _mutation_calls() -> dict[str, tuple[str, dict[str, Any]]]:
    """Every mutation of the schema as one operation with its required arguments."""
    from graphql import GraphQLNonNull, build_schema

    from schema import sdl

    schema = build_schema(sdl())
    mutation = schema.mutation_type
    assert mutation is not None
    calls = {}
    for name, field in mutation.fields.items():
        required = {a: arg for a, arg in field.args.items() if isinstance(arg.type, GraphQLNonNull)}
        declared = ", ".join(f"${a}: {arg.type}" for a, arg in required.items())
        passed = ", ".join(f"{a}: ${a}" for a in required)
        header = f"mutation({declared})" if declared else "mutation"
        call = f"{name}({passed})" if passed else name
        values = {a: _value(arg.type) for a, arg in required.items()}
        calls[name] = (f"{header} {{ {call} {{ __typename }} }}", values)
    return calls


@pytest.mark.parametrize("name", sorted(_mutation_calls()))
async def test_every_mutation_refuses_an_anonymous_caller_cleanly(api: Api, name):
    query, variables = _mutation_calls()[name]
    before = await table_state()

    body = await api.post(query, variables)

    codes = [e["extensions"]["code"] for e in body.get("errors", [])]
    assert "INTERNAL_SERVER_ERROR" not in codes, body
    if name in PUBLIC_MUTATIONS:
        assert body["data"][name]["__typename"].endswith("Payload"), body
    else:
        assert codes and set(codes) <= {"UNAUTHENTICATED", "FORBIDDEN"}, body
        assert await table_state() == before
