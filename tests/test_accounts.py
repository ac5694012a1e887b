"""Accounts through the GraphQL API: codes, registration, sign-in, passwords, profile."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from infra.clock import clock
from models import AuditLog, Session, User, VerificationCode
from tests.conftest import Api, last_code, sms_messages
from tests.factories import PASSWORD, make_user, person, sign_in

REQUEST_CODE = """
mutation RequestVerificationCode($phone: String!, $purpose: VerificationPurpose!) {
  requestVerificationCode(phone: $phone, purpose: $purpose) {
    sent retryAfterSeconds errors { field message code }
  }
}
"""
REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { token user { id phone name } errors { field message code } }
}
"""
LOGIN = """
mutation Login($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { token user { id name } errors { field message code } }
}
"""
ME = "query Me { me { id phone name email memberships { role organization { id name kind } } } }"
LOGOUT = "mutation Logout { logout { ok } }"
RESET = """
mutation ResetPassword($input: ResetPasswordInput!) {
  resetPassword(input: $input) { ok errors { field message code } }
}
"""
CHANGE = """
mutation ChangePassword($oldPassword: String!, $newPassword: String!) {
  changePassword(oldPassword: $oldPassword, newPassword: $newPassword) {
    ok errors { field message code }
  }
}
"""
UPDATE_PROFILE = """
mutation UpdateProfile($input: ProfileInput!) {
  updateProfile(input: $input) { user { id name email } errors { field message code } }
}
"""


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def request_code(api: Api, phone: str, purpose: str = "REGISTER", **kw) -> dict:
    data = await api.data(REQUEST_CODE, {"phone": phone, "purpose": purpose}, **kw)
    return data["requestVerificationCode"]


async def register(api: Api, settings_, phone: str, **overrides) -> dict:
    sent = await request_code(api, phone)
    assert sent["sent"], sent
    variables = {
        "phone": phone,
        "code": last_code(settings_, phone),
        "password": PASSWORD,
        "name": "王小明",
        "acceptAgreement": True,
        **overrides,
    }
    return (await api.data(REGISTER, {"input": variables}))["register"]


async def test_requesting_a_code_sends_six_digits_by_sms_and_asks_to_wait(api, base_settings):
    sent = await request_code(api, "139 1234 5678")

    assert sent == {"sent": True, "retryAfterSeconds": 60, "errors": []}
    [message] = sms_messages(base_settings)
    assert message["phone"] == "13912345678"
    assert len(message["code"]) == 6 and message["code"].isdigit()
    assert message["code"] in message["text"]
    stored = await VerificationCode.get(phone="13912345678")
    assert message["code"] not in stored.code_hash  # kept only as an HMAC


async def test_a_second_code_within_a_minute_is_refused_with_the_wait(api, base_settings):
    await request_code(api, "13912345678")

    again = await request_code(api, "13912345678")

    assert codes(again) == ["RATE_LIMITED"]
    assert again["sent"] is False
    assert 50 <= again["retryAfterSeconds"] <= 60
    assert "秒后重试" in again["errors"][0]["message"]
    assert len(sms_messages(base_settings)) == 1


async def test_ten_codes_a_day_per_phone(api, base_settings, settings):
    settings(rate_limit_code_phone="100/minute;10/day")
    for _ in range(10):
        assert (await request_code(api, "13912345678"))["sent"]

    eleventh = await request_code(api, "13912345678")

    assert codes(eleventh) == ["RATE_LIMITED"]
    assert eleventh["retryAfterSeconds"] > 3600
    assert len(sms_messages(base_settings)) == 10


async def test_codes_per_address_are_limited_but_other_addresses_are_not(api, settings):
    settings(rate_limit_code_address="3/hour")
    for n in range(3):
        assert (await request_code(api, f"1391234567{n}"))["sent"]

    refused = await request_code(api, "13912345679")
    elsewhere = await request_code(api, "13912345679", ip="10.9.9.9")

    assert codes(refused) == ["RATE_LIMITED"]
    assert elsewhere["sent"] is True


@pytest.mark.parametrize(
    "phone", ["12345678901", "1391234567", "139123456789", "abc", "", "23912345678"]
)
async def test_only_mainland_mobile_numbers_get_codes(api, base_settings, phone):
    refused = await request_code(api, phone)

    assert codes(refused) == ["INVALID_PHONE"]
    assert refused["errors"][0]["field"] == "phone"
    assert sms_messages(base_settings) == []
    assert await VerificationCode.all().count() == 0


async def test_register_signs_in_and_records_the_agreement(api, base_settings):
    result = await register(api, base_settings, "13912345678")

    assert result["errors"] == []
    assert result["user"]["phone"] == "13912345678"
    assert result["user"]["name"] == "王小明"
    me = (await api.data(ME, token=result["token"]))["me"]
    assert me["id"] == result["user"]["id"]
    user = await User.get(phone="13912345678")
    assert user.agreement_accepted_at is not None
    assert user.password_hash.startswith("$argon2id$")
    assert await AuditLog.filter(action="register", actor_id=user.id).exists()


async def test_register_requires_the_agreement_and_changes_nothing(api, base_settings):
    result = await register(api, base_settings, "13912345678", acceptAgreement=False)

    assert codes(result) == ["AGREEMENT_REQUIRED"]
    assert result["token"] is None
    assert await User.all().count() == 0
    assert await VerificationCode.filter(used_at=None).count() == 1  # the code is still usable


@pytest.mark.parametrize(
    ("password", "code"),
    [("short1", "WEAK_PASSWORD"), ("onlyletters", "WEAK_PASSWORD"), ("12345678", "WEAK_PASSWORD")],
)
async def test_register_refuses_weak_passwords(api, base_settings, password, code):
    result = await register(api, base_settings, "13912345678", password=password)

    assert codes(result) == [code]
    assert await User.all().count() == 0


async def test_register_reports_every_bad_field_at_once(api, base_settings):
    result = await register(
        api, base_settings, "13912345678", password="x", name="  ", acceptAgreement=False
    )

    assert sorted(e["field"] for e in result["errors"]) == ["acceptAgreement", "name", "password"]


async def test_a_wrong_code_counts_and_five_wrong_tries_burn_it(api, base_settings):
    await request_code(api, "13912345678")
    right = last_code(base_settings, "13912345678")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    base = {"phone": "13912345678", "password": PASSWORD, "name": "王小明", "acceptAgreement": True}

    first = (await api.data(REGISTER, {"input": {**base, "code": wrong}}))["register"]
    assert codes(first) == ["CODE_INVALID"]
    assert "还可尝试4次" in first["errors"][0]["message"]
    for _ in range(4):
        await api.data(REGISTER, {"input": {**base, "code": wrong}})

    too_late = (await api.data(REGISTER, {"input": {**base, "code": right}}))["register"]

    assert codes(too_late) == ["CODE_TOO_MANY_ATTEMPTS"]
    assert await User.all().count() == 0


async def test_codes_expire_after_ten_minutes(api, base_settings):
    await request_code(api, "13912345678")
    clock.set_offset(clock.offset + timedelta(minutes=10, seconds=1))

    result = (
        await api.data(
            REGISTER,
            {
                "input": {
                    "phone": "13912345678",
                    "code": last_code(base_settings, "13912345678"),
                    "password": PASSWORD,
                    "name": "王小明",
                    "acceptAgreement": True,
                }
            },
        )
    )["register"]

    assert codes(result) == ["CODE_EXPIRED"]


async def test_a_code_works_once(api, base_settings):
    await make_user("13912345678")
    await request_code(api, "13912345678", "RESET_PASSWORD")
    code = last_code(base_settings, "13912345678")
    reset = {"phone": "13912345678", "code": code, "newPassword": "NewPassw0rd"}

    first = (await api.data(RESET, {"input": reset}))["resetPassword"]
    second = (await api.data(RESET, {"input": {**reset, "newPassword": "Another1pass"}}))[
        "resetPassword"
    ]

    assert first == {"ok": True, "errors": []}
    assert codes(second) == ["CODE_INVALID"]
    assert await sign_in(api, "13912345678", "NewPassw0rd")


async def test_a_registered_phone_cannot_register_again(api, base_settings):
    await make_user("13912345678")

    refused = await request_code(api, "13912345678")

    assert codes(refused) == ["PHONE_ALREADY_REGISTERED"]
    assert sms_messages(base_settings) == []


async def test_login_with_the_right_password(api):
    user = await make_user("13912345678", "赵六")

    result = (await api.data(LOGIN, {"phone": "13912345678", "password": PASSWORD}))["login"]

    assert result["errors"] == []
    assert result["user"]["name"] == "赵六"
    assert await Session.filter(user_id=user.id).count() == 1
    assert await AuditLog.filter(action="login", actor_id=user.id).exists()


async def test_a_wrong_password_and_an_unknown_phone_get_the_same_answer(api):
    await make_user("13912345678")

    wrong = (await api.data(LOGIN, {"phone": "13912345678", "password": "Wrong1234"}))["login"]
    unknown = (await api.data(LOGIN, {"phone": "13912345600", "password": "Wrong1234"}))["login"]

    assert codes(wrong) == codes(unknown) == ["INVALID_CREDENTIALS"]
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"] == "手机号或密码错误"
    assert wrong["token"] is None
    assert await Session.all().count() == 0


async def test_failed_logins_are_limited_per_phone_even_for_the_right_password(api, settings):
    settings(rate_limit_login_phone="3/15minutes")
    await make_user("13912345678")
    for n in range(3):
        await api.data(LOGIN, {"phone": "13912345678", "password": "Wrong1234"}, ip=f"10.0.0.{n}")

    locked = (await api.data(LOGIN, {"phone": "13912345678", "password": PASSWORD}))["login"]

    assert codes(locked) == ["RATE_LIMITED"]
    assert "分钟后重试" in locked["errors"][0]["message"]
    assert locked["token"] is None


async def test_failed_logins_are_limited_per_address(api, settings):
    settings(rate_limit_login_address="2/hour")
    await make_user("13912345678")
    for n in range(2):
        await api.data(LOGIN, {"phone": f"1391234560{n}", "password": "Wrong1234"})

    locked = (await api.data(LOGIN, {"phone": "13912345678", "password": PASSWORD}))["login"]
    other_address = await sign_in(api.__class__(api.app, ip="10.7.7.7"), "13912345678")

    assert codes(locked) == ["RATE_LIMITED"]
    assert other_address


async def test_logout_revokes_only_that_session(api):
    await make_user("13912345678")
    first = await sign_in(api, "13912345678")
    second = await sign_in(api, "13912345678")

    assert (await api.data(LOGOUT, token=first))["logout"]["ok"] is True

    assert (await api.data(ME, token=first))["me"] is None
    assert (await api.data(ME, token=second))["me"] is not None


async def test_sessions_expire(api):
    someone = await person(api, "13912345678")
    clock.set_offset(clock.offset + timedelta(days=31))

    assert (await api.data(ME, token=someone.token))["me"] is None


async def test_a_garbage_token_is_anonymous(api):
    assert (await api.data(ME, token="not-a-token"))["me"] is None
    assert (await api.data(ME, token="x" * 5000))["me"] is None


async def test_reset_password_revokes_every_session(api, base_settings):
    someone = await person(api, "13912345678")
    await request_code(api, "13912345678", "RESET_PASSWORD")

    result = (
        await api.data(
            RESET,
            {
                "input": {
                    "phone": "13912345678",
                    "code": last_code(base_settings, "13912345678"),
                    "newPassword": "NewPassw0rd",
                }
            },
        )
    )["resetPassword"]

    assert result["ok"] is True
    assert (await api.data(ME, token=someone.token))["me"] is None
    assert codes(
        (await api.data(LOGIN, {"phone": "13912345678", "password": PASSWORD}))["login"]
    ) == ["INVALID_CREDENTIALS"]
    assert await AuditLog.filter(action="password_reset").exists()


async def test_reset_for_an_unknown_phone_sends_nothing(api, base_settings):
    refused = await request_code(api, "13912345678", "RESET_PASSWORD")

    assert codes(refused) == ["PHONE_NOT_REGISTERED"]
    assert sms_messages(base_settings) == []


async def test_change_password_needs_the_old_one(api):
    someone = await person(api, "13912345678")
    before = (await User.get(id=someone.user.id)).password_hash

    result = (
        await api.data(
            CHANGE, {"oldPassword": "Wrong1234", "newPassword": "NewPassw0rd"}, token=someone.token
        )
    )["changePassword"]

    assert codes(result) == ["INVALID_CREDENTIALS"]
    assert result["errors"][0]["field"] == "oldPassword"
    assert (await User.get(id=someone.user.id)).password_hash == before
    assert (await api.data(ME, token=someone.token))["me"] is not None


async def test_change_password_revokes_every_session(api):
    someone = await person(api, "13912345678")
    other_device = await sign_in(api, "13912345678")

    result = (
        await api.data(
            CHANGE, {"oldPassword": PASSWORD, "newPassword": "NewPassw0rd"}, token=someone.token
        )
    )["changePassword"]

    assert result == {"ok": True, "errors": []}
    assert (await api.data(ME, token=other_device))["me"] is None
    assert await sign_in(api, "13912345678", "NewPassw0rd")
    assert await AuditLog.filter(action="password_changed").exists()


async def test_change_password_needs_a_signed_in_person(api):
    body = await api.post(CHANGE, {"oldPassword": PASSWORD, "newPassword": "NewPassw0rd"})

    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_update_profile_sets_and_removes_the_email(api):
    someone = await person(api, "13912345678")

    set_ = (
        await api.data(
            UPDATE_PROFILE, {"input": {"email": " Wang@Example.COM "}}, token=someone.token
        )
    )["updateProfile"]
    removed = (await api.data(UPDATE_PROFILE, {"input": {"email": ""}}, token=someone.token))[
        "updateProfile"
    ]

    assert set_["user"]["email"] == "Wang@example.com"
    assert removed["user"]["email"] is None
    assert (await User.get(id=someone.user.id)).email is None


async def test_update_profile_refuses_a_bad_email_and_changes_nothing(api):
    someone = await person(api, "13912345678", "原名")

    result = (
        await api.data(
            UPDATE_PROFILE,
            {"input": {"name": "新名", "email": "not-an-email"}},
            token=someone.token,
        )
    )["updateProfile"]

    assert codes(result) == ["INVALID_EMAIL"]
    user = await User.get(id=someone.user.id)
    assert (user.name, user.email) == ("原名", None)


async def test_passwords_never_reach_the_logs(api, base_settings, caplog):
    caplog.set_level(logging.DEBUG)
    await register(api, base_settings, "13912345678", password="Secret9Password")
    await api.data(LOGIN, {"phone": "13912345678", "password": "Secret9Password"})
    await api.data(LOGIN, {"phone": "13912345678", "password": "Wrong9Password"})

    assert "Secret9Password" not in caplog.text
    assert "Wrong9Password" not in caplog.text


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        (LOGIN, {"phone": "12345", "password": PASSWORD}, "INVALID_PHONE"),
        (
            RESET,
            {"input": {"phone": "12345", "code": "000000", "newPassword": "NewPassw0rd"}},
            "INVALID_PHONE",
        ),
        (
            RESET,
            {"input": {"phone": "13912345678", "code": "000000", "newPassword": "weak"}},
            "WEAK_PASSWORD",
        ),
        (
            RESET,
            {"input": {"phone": "13912345678", "code": "", "newPassword": "NewPassw0rd"}},
            "CODE_INVALID",
        ),
    ],
)
async def test_bad_sign_in_and_reset_input_is_refused_and_changes_nothing(
    api, query, variables, code
):
    user = await make_user("13912345678")

    payload = next(iter((await api.data(query, variables)).values()))

    assert codes(payload) == [code]
    assert (await User.get(id=user.id)).password_hash == user.password_hash
    assert await Session.all().count() == 0


async def test_change_password_refuses_a_weak_new_one(api):
    someone = await person(api, "13912345678")

    result = (
        await api.data(
            CHANGE, {"oldPassword": PASSWORD, "newPassword": "weak"}, token=someone.token
        )
    )["changePassword"]

    assert codes(result) == ["WEAK_PASSWORD"]
    assert result["errors"][0]["field"] == "newPassword"
    assert (await api.data(ME, token=someone.token))["me"] is not None


SIGN_IN_WITH_CODE = """
mutation($phone: String!, $code: String!, $agree: Boolean!) {
  signInWithCode(phone: $phone, code: $code, acceptAgreement: $agree) {
    token user { name phone } errors { field code }
  }
}
"""


async def test_a_code_signs_in_an_existing_person(api, base_settings):
    await make_user("13912345678", "老用户")
    await request_code(api, "13912345678", "LOGIN")

    result = (
        await api.data(
            SIGN_IN_WITH_CODE,
            {
                "phone": "13912345678",
                "code": last_code(base_settings, "13912345678"),
                "agree": False,
            },
        )
    )["signInWithCode"]

    assert result["errors"] == [] and result["user"]["name"] == "老用户"
    assert (await api.data(ME, token=result["token"]))["me"]["phone"] == "13912345678"


async def test_a_code_registers_a_new_phone_only_with_the_agreement(api, base_settings):
    await request_code(api, "13912345678", "LOGIN")
    code = last_code(base_settings, "13912345678")

    refused = (
        await api.data(SIGN_IN_WITH_CODE, {"phone": "13912345678", "code": code, "agree": False})
    )["signInWithCode"]
    assert codes(refused) == ["AGREEMENT_REQUIRED"]
    assert await User.all().count() == 0

    accepted = (
        await api.data(SIGN_IN_WITH_CODE, {"phone": "13912345678", "code": code, "agree": True})
    )["signInWithCode"]
    assert accepted["errors"] == [] and accepted["user"]["name"] == "科普爱好者5678"
    user = await User.get(phone="13912345678")
    assert user.agreement_accepted_at is not None
    wrong_password = (await api.data(LOGIN, {"phone": "13912345678", "password": ""}))["login"]
    assert codes(wrong_password) == ["INVALID_CREDENTIALS"]
