"""Science volunteers: a unit registers them by phone (nobody is a volunteer without their say),
they check in and out on the page or at the unit's device, hours are capped by the activity's
duration, the unit's records and corrections are kept and audited until the summary deadline,
units and their associations read the hours, the volunteer has a PDF record, and the
evaluation's TECH_VOLUNTEERS indicator is computed from confirmed records with its inputs."""

from __future__ import annotations

import asyncio
import io

import pytest
from pypdf import PdfReader

from models import AuditLog, Volunteer, VolunteerCorrection, VolunteerShift
from models.enums import MemberRole, OrganizationKind, VolunteerStatus
from schema.ids import to_global_id
from tests.conftest import Api, china, run_worker, set_now, sms_messages
from tests.factories import (
    association,
    filing_unit,
    make_activity,
    make_campaign,
    make_user,
    member,
    national_organizer,
    person,
    sign_in,
    table_state,
)
from tests.test_devices import CODE, CREATE

REGISTER = """mutation($a: ID!, $p: String!, $n: String!) { registerVolunteer(activityId: $a,
  phone: $p, name: $n) { volunteer { id name phone status hours } errors { field code } } }"""
ANSWER = """mutation($id: ID!, $y: Boolean!) { answerVolunteering(id: $id, accept: $y) {
  volunteer { status } errors { code } } }"""
IN = """mutation($a: ID!) { volunteerCheckIn(activityId: $a) { volunteer { status onDutySince
  hours } errors { code } } }"""
OUT = """mutation($a: ID!) { volunteerCheckOut(activityId: $a) { volunteer { hours onDutySince
  shifts { source } } errors { code } } }"""
RECORD = """mutation($id: ID!, $h: Float!, $n: String!) { recordVolunteerHours(id: $id, hours: $h,
  note: $n) { volunteer { hours recordedByUnit corrections { hoursBefore hoursAfter note } }
  errors { field code } } }"""
HOURS = """query($o: ID!) { volunteerHours(organizationId: $o, year: 2026) { volunteers hours
  activities unconfirmedHours records { edges { node { name phone status hours activityTitle } } }
  } }"""
MINE = """{ me { volunteering { year hours records { activityTitle status hours
  activity { title } } } } }"""
PDF = """mutation { requestVolunteerRecord(year: 2026) { document { id } errors { code } } }"""
UPLOAD = """mutation($v: [VolunteerScanInput!]!) { uploadCheckIns(volunteerScans: $v) {
  volunteerScans { clientNonce status code } errors { code } } }"""
EVALUATION = """{ evaluation(year: 2026, first: 100) { edges { node { organization { name }
  scores { indicator score computed inputs { name value } } } } } }"""
SCORE = """mutation($o: ID!) { scoreIndicator(input: {year: 2026, organizationId: $o,
  indicator: TECH_VOLUNTEERS, score: 66}) { errors { code } } }"""
BY_HAND = """mutation($h: Boolean!) { scoreVolunteersByHand(year: 2026, byHand: $h) {
  ok errors { code } } }"""


@pytest.fixture
async def fair(api: Api):
    """A Chengdu school's science fair on 2026-09-20, 09:00-17:00 (8 hours), approved; it is the
    morning before."""
    campaign = await make_campaign()
    unit, filer = await filing_unit(api)
    activity = await make_activity(unit, campaign, title="校园科技节")
    set_now(china("2026-09-19 10:00"))
    return {
        "campaign": campaign,
        "unit": unit,
        "filer": filer,
        "activity": activity,
        "id": to_global_id("Activity", activity.id),
        "org": to_global_id("Organization", unit.id),
    }


async def register(api: Api, fair, phone: str, name: str = "志愿者") -> dict:
    done = await api.data(
        REGISTER, {"a": fair["id"], "p": phone, "n": name}, token=fair["filer"].token
    )
    return done["registerVolunteer"]


async def test_a_unit_registers_volunteers_by_phone_and_nobody_serves_without_their_say(
    api: Api, fair, app, base_settings
):
    student = await person(api, "13922220001", "王同学")
    stranger = await person(api, "13922220009", "路人")

    known = await register(api, fair, student.phone, "王同学")
    unknown = await register(api, fair, "13922220002", "李老师")
    again = await register(api, fair, student.phone, "王同学")
    bad = await register(api, fair, "12345", "某人")
    before = await table_state()
    refused = (
        await api.data(
            REGISTER, {"a": fair["id"], "p": "13922220003", "n": "某人"}, token=stranger.token
        )
    )["registerVolunteer"]

    assert refused["errors"] == [{"field": "activityId", "code": "NOT_FOUND"}]
    assert await table_state() == before
    assert bad["errors"] == [{"field": "phone", "code": "INVALID_PHONE"}]
    # the answer does not tell whether the phone has an account
    assert known["volunteer"]["status"] == unknown["volunteer"]["status"] == "INVITED"
    assert known["volunteer"]["phone"] == "139****0001"
    assert again["volunteer"]["id"] == known["volunteer"]["id"]
    assert await Volunteer.all().count() == 2

    # the person with an account is told in the app, the phone without one by SMS, once
    await run_worker(app, base_settings)
    await run_worker(app, base_settings)
    texts = [m for m in sms_messages(base_settings) if m["phone"] == "13922220002"]
    assert len(texts) == 1 and "校园科技节" in texts[0]["text"]
    assert not [m for m in sms_messages(base_settings) if m["phone"] == student.phone]
    told = await api.data(
        "{ notifications(first: 5) { edges { node { kind } } } }", token=student.token
    )
    assert [e["node"]["kind"] for e in told["notifications"]["edges"]] == ["VOLUNTEER_INVITED"]

    # consent: once, by the person only
    others = await api.data(
        ANSWER, {"id": known["volunteer"]["id"], "y": True}, token=stranger.token
    )
    declined = await api.data(
        ANSWER, {"id": known["volunteer"]["id"], "y": False}, token=student.token
    )
    twice = await api.data(ANSWER, {"id": known["volunteer"]["id"], "y": True}, token=student.token)
    assert others["answerVolunteering"]["errors"] == [{"code": "NOT_FOUND"}]
    assert declined["answerVolunteering"]["volunteer"]["status"] == "DECLINED"
    assert twice["answerVolunteering"]["errors"] == [{"code": "ALREADY_ANSWERED"}]
    set_now(china("2026-09-20 09:30"))
    serving = await api.data(IN, {"a": fair["id"]}, token=student.token)
    assert serving["volunteerCheckIn"]["errors"] == [{"code": "DECLINED"}]

    # the phone's person registers later: the registration is theirs, and checking in says yes
    await make_user("13922220002", "李老师")
    teacher = await sign_in(api, "13922220002")
    mine = (await api.data(MINE, token=teacher))["me"]["volunteering"]
    assert [(y["year"], [r["status"] for r in y["records"]]) for y in mine] == [(2026, ["INVITED"])]
    began = (await api.data(IN, {"a": fair["id"]}, token=teacher))["volunteerCheckIn"]
    assert began["volunteer"]["status"] == "CONFIRMED" and began["volunteer"]["onDutySince"]
    assert (await Volunteer.get(phone="13922220002")).user_id is not None


async def test_hours_are_the_time_on_duty_within_the_activity_never_more_than_it_lasts(
    api: Api, fair
):
    volunteer = await person(api, "13922220011", "赵志愿")
    await register(api, fair, volunteer.phone)

    set_now(china("2026-09-19 10:00"))
    early = (await api.data(IN, {"a": fair["id"]}, token=volunteer.token))["volunteerCheckIn"]
    set_now(china("2026-09-20 08:45"))  # check-in opens a little before the start
    began = (await api.data(IN, {"a": fair["id"]}, token=volunteer.token))["volunteerCheckIn"]
    twice = (await api.data(IN, {"a": fair["id"]}, token=volunteer.token))["volunteerCheckIn"]
    set_now(china("2026-09-20 12:00"))
    ended = (await api.data(OUT, {"a": fair["id"]}, token=volunteer.token))["volunteerCheckOut"]
    out_again = (await api.data(OUT, {"a": fair["id"]}, token=volunteer.token))["volunteerCheckOut"]

    assert early["errors"] == [{"code": "OUTSIDE_WINDOW"}]
    assert began["errors"] == [] and began["volunteer"]["status"] == "CONFIRMED"
    assert twice["errors"] == [{"code": "ALREADY_ON_DUTY"}]
    assert ended["volunteer"]["hours"] == 3.0  # 09:00 (the start, not 08:45) to 12:00
    assert ended["volunteer"]["onDutySince"] is None
    assert [s["source"] for s in ended["volunteer"]["shifts"]] == ["PAGE"]
    assert out_again["errors"] == [{"code": "NOT_ON_DUTY"}]

    # an afternoon shift checked out after the end counts up to the end
    set_now(china("2026-09-20 13:00"))
    await api.data(IN, {"a": fair["id"]}, token=volunteer.token)
    set_now(china("2026-09-20 17:20"))
    late = (await api.data(OUT, {"a": fair["id"]}, token=volunteer.token))["volunteerCheckOut"]
    assert late["volunteer"]["hours"] == 7.0

    others = await person(api, "13922220012")
    not_theirs = (await api.data(IN, {"a": fair["id"]}, token=others.token))["volunteerCheckIn"]
    assert not_theirs["errors"] == [{"code": "NOT_VOLUNTEER"}]


async def test_a_volunteer_checking_in_from_many_clients_at_once_opens_one_shift(api: Api, fair):
    volunteer = await person(api, "13922220021")
    await register(api, fair, volunteer.phone)
    set_now(china("2026-09-20 10:00"))

    answers = await asyncio.gather(
        *(api.data(IN, {"a": fair["id"]}, token=volunteer.token) for _ in range(8))
    )
    set_now(china("2026-09-20 11:00"))
    outs = await asyncio.gather(
        *(api.data(OUT, {"a": fair["id"]}, token=volunteer.token) for _ in range(8))
    )

    codes = [a["volunteerCheckIn"]["errors"] for a in answers]
    assert codes.count([]) == 1 and codes.count([{"code": "ALREADY_ON_DUTY"}]) == 7
    assert [o["volunteerCheckOut"]["errors"] for o in outs].count([]) == 1
    assert await VolunteerShift.all().count() == 1
    assert (await Volunteer.get()).minutes == 60


async def test_the_unit_records_hours_capped_until_the_summary_deadline_and_each_is_kept(
    api: Api, fair
):
    helper = await person(api, "13922220031", "孙志愿")
    registered = (await register(api, fair, helper.phone, "孙志愿"))["volunteer"]
    own = (await register(api, fair, fair["filer"].phone, "填报员"))["volunteer"]

    def record(hours: float, note: str = "现场签到表") -> dict:
        return {"id": registered["id"], "h": hours, "n": note}

    too_soon = await api.data(RECORD, record(2), token=fair["filer"].token)
    set_now(china("2026-09-21 10:00"))
    before = await table_state()
    over = await api.data(RECORD, record(8.5), token=fair["filer"].token)
    negative = await api.data(RECORD, record(-1), token=fair["filer"].token)
    no_reason = await api.data(RECORD, record(2, " "), token=fair["filer"].token)
    by_themself = await api.data(
        RECORD, {"id": own["id"], "h": 2, "n": "本人"}, token=fair["filer"].token
    )
    by_the_volunteer = await api.data(RECORD, record(2), token=helper.token)
    assert await table_state() == before

    first = await api.data(RECORD, record(6), token=fair["filer"].token)
    corrected = await api.data(RECORD, record(5.5, "核对签到表后更正"), token=fair["filer"].token)
    set_now(china("2026-10-17 09:00"))  # the summary deadline was 2026-10-16
    late = await api.data(RECORD, record(8), token=fair["filer"].token)

    assert too_soon["recordVolunteerHours"]["errors"] == [{"field": "id", "code": "NOT_STARTED"}]
    assert over["recordVolunteerHours"]["errors"] == [
        {"field": "hours", "code": "HOURS_OVER_DURATION"}
    ]
    assert negative["recordVolunteerHours"]["errors"] == [{"field": "hours", "code": "INVALID"}]
    assert no_reason["recordVolunteerHours"]["errors"][0]["field"] == "note"
    assert by_themself["recordVolunteerHours"]["errors"] == [{"field": "id", "code": "OWN_HOURS"}]
    assert by_the_volunteer["recordVolunteerHours"]["errors"] == [
        {"field": "id", "code": "NOT_FOUND"}
    ]
    assert first["recordVolunteerHours"]["volunteer"]["hours"] == 6.0
    done = corrected["recordVolunteerHours"]["volunteer"]
    assert done["hours"] == 5.5 and done["recordedByUnit"] is True
    assert done["corrections"] == [
        {"hoursBefore": 0.0, "hoursAfter": 6.0, "note": "现场签到表"},
        {"hoursBefore": 6.0, "hoursAfter": 5.5, "note": "核对签到表后更正"},
    ]
    assert late["recordVolunteerHours"]["errors"] == [{"field": "id", "code": "DEADLINE_PASSED"}]
    assert (await Volunteer.get(phone=helper.phone)).minutes == 330
    audited = await AuditLog.filter(action="volunteer_hours_recorded").order_by("id")
    assert [(a.actor_id, a.data["minutes_before"], a.data["minutes_after"]) for a in audited] == [
        (fair["filer"].user.id, 0, 360),
        (fair["filer"].user.id, 360, 330),
    ]
    assert await VolunteerCorrection.all().count() == 2


async def test_units_and_their_associations_read_the_hours_and_only_confirmed_ones_count(
    api: Api, fair
):
    a, b = await person(api, "13922220041", "甲"), await person(api, "13922220042", "乙")
    for who in (a, b):
        await register(api, fair, who.phone, who.user.name)
    second = await make_activity(fair["unit"], fair["campaign"], title="科普讲座")
    await api.data(
        REGISTER,
        {"a": to_global_id("Activity", second.id), "p": a.phone, "n": "甲"},
        token=fair["filer"].token,
    )
    set_now(china("2026-09-20 09:00"))
    await api.data(IN, {"a": fair["id"]}, token=a.token)
    await api.data(IN, {"a": to_global_id("Activity", second.id)}, token=a.token)
    set_now(china("2026-09-20 11:00"))
    await api.data(OUT, {"a": fair["id"]}, token=a.token)
    await api.data(OUT, {"a": to_global_id("Activity", second.id)}, token=a.token)
    # b never confirmed: the unit's figure is kept but not counted
    set_now(china("2026-09-21 09:00"))
    b_id = (await Volunteer.get(phone=b.phone)).id
    await api.data(
        RECORD,
        {"id": to_global_id("Volunteer", b_id), "h": 4, "n": "补录"},
        token=fair["filer"].token,
    )

    province = await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "510000")
    sichuan = await member(api, "13922220048", province, MemberRole.REVIEWER)
    staff = await member(api, "13922220049", await national_organizer(), MemberRole.ADMIN)
    _, other_filer = await filing_unit(api, "13922220047", "110101", "北京某中学")
    seen = {
        who: await api.post(HOURS, {"o": fair["org"]}, token=token)
        for who, token in (
            ("unit", fair["filer"].token),
            ("province", sichuan.token),
            ("staff", staff.token),
            ("other unit", other_filer.token),
            ("volunteer", a.token),
        )
    }

    hours = seen["unit"]["data"]["volunteerHours"]
    assert (hours["volunteers"], hours["hours"], hours["activities"]) == (1, 4.0, 2)
    assert hours["unconfirmedHours"] == 4.0
    assert sorted(
        (e["node"]["activityTitle"], e["node"]["name"], e["node"]["hours"])
        for e in hours["records"]["edges"]
    ) == [("校园科技节", "乙", 4.0), ("校园科技节", "甲", 2.0), ("科普讲座", "甲", 2.0)]
    assert seen["province"]["data"] == seen["staff"]["data"] == seen["unit"]["data"]
    for refused in ("other unit", "volunteer"):
        assert seen[refused]["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    mine = (await api.data(MINE, token=a.token))["me"]["volunteering"]
    assert [(y["year"], y["hours"]) for y in mine] == [(2026, 4.0)]
    assert [r["activity"]["title"] for r in mine[0]["records"]] == ["校园科技节", "科普讲座"]


async def test_the_volunteer_downloads_a_pdf_record_of_the_year(api: Api, fair, app, base_settings):
    from tests.test_documents import DOCUMENT, fetch

    helper = await person(api, "13922220051", "周志愿")
    nothing = (await api.data(PDF, token=helper.token))["requestVolunteerRecord"]
    await register(api, fair, helper.phone)
    set_now(china("2026-09-20 09:00"))
    await api.data(IN, {"a": fair["id"]}, token=helper.token)
    set_now(china("2026-09-20 12:30"))
    await api.data(OUT, {"a": fair["id"]}, token=helper.token)

    requested = (await api.data(PDF, token=helper.token))["requestVolunteerRecord"]
    other = await person(api, "13922220052")
    others = (await api.data(PDF, token=other.token))["requestVolunteerRecord"]
    await run_worker(app, base_settings)
    ready = (await api.data(DOCUMENT, {"id": requested["document"]["id"]}, token=helper.token))[
        "document"
    ]
    peeked = await api.post(DOCUMENT, {"id": requested["document"]["id"]}, token=other.token)
    text = PdfReader(io.BytesIO((await fetch(api, ready["downloadUrl"])).content)).pages[0]
    words = text.extract_text()

    assert nothing["errors"] == [{"code": "NOTHING_TO_EXPORT"}]
    assert others["errors"] == [{"code": "NOTHING_TO_EXPORT"}]
    assert ready["status"] == "READY"
    assert peeked["data"]["document"] is None
    for expected in ("2026年度科技志愿服务记录", "周志愿", "139****0051", "校园科技节", "3.5"):
        assert expected in words


async def test_a_device_checks_volunteers_in_and_out_and_a_repeat_changes_nothing(
    api: Api, fair, base_settings
):
    device = (
        await api.data(
            CREATE,
            {"i": {"organizationId": fair["org"], "name": "签到平板", "activityIds": [fair["id"]]}},
            token=fair["filer"].token,
        )
    )["createCheckInDevice"]
    helper = await person(api, "13922220061", "吴志愿")
    visitor = await person(api, "13922220062", "观众")
    await register(api, fair, helper.phone)
    set_now(china("2026-09-20 08:00"))
    code = (await api.data(CODE, token=helper.token))["me"]["checkInCode"]["code"]
    visitor_code = (await api.data(CODE, token=visitor.token))["me"]["checkInCode"]["code"]
    set_now(china("2026-09-20 16:00"))

    def scan(code: str, direction: str, at: str, nonce: str) -> dict:
        return {
            "activityId": fair["id"],
            "code": code,
            "direction": direction,
            "scannedAt": china(at).isoformat(),
            "clientNonce": nonce,
        }

    batch = [
        scan(code, "OUT", "2026-09-20 12:00", "nonce-out-1"),  # given out of order
        scan(code, "IN", "2026-09-20 09:30", "nonce-in-01"),
        scan(visitor_code, "IN", "2026-09-20 09:40", "nonce-in-02"),
        scan(code[:-3] + "AAA", "IN", "2026-09-20 09:45", "nonce-in-03"),
    ]
    first = (await api.data(UPLOAD, {"v": batch}, token=device["token"]))["uploadCheckIns"]
    again = (await api.data(UPLOAD, {"v": batch}, token=device["token"]))["uploadCheckIns"]

    assert [(r["clientNonce"], r["status"], r["code"]) for r in first["volunteerScans"]] == [
        ("nonce-out-1", "ACCEPTED", None),
        ("nonce-in-01", "ACCEPTED", None),
        ("nonce-in-02", "REFUSED", "NOT_VOLUNTEER"),
        ("nonce-in-03", "REFUSED", "FORGED_CODE"),
    ]
    assert [r["status"] for r in again["volunteerScans"][:2]] == ["DUPLICATE", "DUPLICATE"]
    served = await Volunteer.get(phone=helper.phone)
    assert served.minutes == 150 and served.status is VolunteerStatus.CONFIRMED
    assert await VolunteerShift.filter(source="DEVICE").count() == 1


async def test_tech_volunteers_is_computed_from_confirmed_records_with_its_inputs(api: Api, fair):
    staff = await member(api, "13922220079", await national_organizer(), MemberRole.ADMIN)
    helpers = [await person(api, f"1392222007{i}", f"志愿{i}") for i in range(3)]
    for helper in helpers:
        await register(api, fair, helper.phone, helper.user.name)
    set_now(china("2026-09-20 09:00"))
    for helper in helpers[:2]:
        await api.data(IN, {"a": fair["id"]}, token=helper.token)
    set_now(china("2026-09-20 11:30"))
    for helper in helpers[:2]:
        await api.data(OUT, {"a": fair["id"]}, token=helper.token)
    # the third never confirmed: the unit's 8 hours for them do not count
    set_now(china("2026-09-21 09:00"))
    third = await Volunteer.get(phone=helpers[2].phone)
    await api.data(
        RECORD,
        {"id": to_global_id("Volunteer", third.id), "h": 8, "n": "补录"},
        token=fair["filer"].token,
    )
    province = await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "510000")

    def volunteers_of(table: dict) -> dict:
        rows = {e["node"]["organization"]["name"]: e["node"] for e in table["evaluation"]["edges"]}
        scores = {s["indicator"]: s for s in rows[province.name]["scores"]}
        return scores["TECH_VOLUNTEERS"]

    computed = volunteers_of(await api.data(EVALUATION, token=staff.token))
    refused = await api.data(
        SCORE, {"o": to_global_id("Organization", province.id)}, token=staff.token
    )
    switched = await api.data(BY_HAND, {"h": True}, token=staff.token)
    not_staff = await api.post(BY_HAND, {"h": True}, token=fair["filer"].token)
    scored = await api.data(
        SCORE, {"o": to_global_id("Organization", province.id)}, token=staff.token
    )
    by_hand = volunteers_of(await api.data(EVALUATION, token=staff.token))

    assert computed["computed"] is True and computed["score"] == 100.0
    assert {i["name"]: i["value"] for i in computed["inputs"]} == {
        "volunteers": 2,
        "volunteer_hours": 5.0,
        "activities_with_volunteers": 1,
        "most_volunteers": 2,
        "most_volunteer_hours": 5.0,
        "most_activities_with_volunteers": 1,
    }
    assert refused["scoreIndicator"]["errors"] == [{"code": "COMPUTED_INDICATOR"}]
    assert switched["scoreVolunteersByHand"]["ok"] is True
    assert not_staff["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert scored["scoreIndicator"]["errors"] == []
    assert by_hand == {
        "indicator": "TECH_VOLUNTEERS",
        "score": 66.0,
        "computed": False,
        "inputs": [],
    }
