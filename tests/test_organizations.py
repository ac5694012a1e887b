"""Regions, unit profiles, supervising units and members through the GraphQL API, with the
permission matrix: anonymous, a public user, a member of another unit, and an admin."""

from __future__ import annotations

import pytest

from models import AuditLog, Membership, Notification, Organization
from models.enums import MemberRole, OrganizationKind
from schema.ids import to_global_id
from tests.conftest import Api
from tests.factories import association, make_unit, make_user, member, national_organizer, person

REGIONS = (
    "query Regions($parentCode: String) { regions(parentCode: $parentCode) { code name level } }"
)
SAVE_UNIT = """
mutation SaveUnitProfile($input: UnitProfileInput!) {
  saveUnitProfile(input: $input) {
    organization { id name kind contactName contactPhone address intro region { code name } }
    errors { field message code }
  }
}
"""
SUPERVISING = """
query SupervisingUnits($kind: OrganizationKind!, $search: String, $regionCode: String, $first: Int,
                       $after: String) {
  supervisingUnits(kind: $kind, search: $search, regionCode: $regionCode, first: $first,
                   after: $after) {
    edges { cursor node { id name kind region { code name } contactPhone } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}
"""
ADD_MEMBER = """
mutation AddMember($organizationId: ID!, $phone: String!, $role: MemberRole!) {
  addMember(organizationId: $organizationId, phone: $phone, role: $role) {
    membership { role organization { id } }
    invitation { id role status organization { id } invitedBy }
    errors { field message code }
  }
}
"""
INVITATIONS = "{ myInvitations { id role status organization { id name } invitedBy } }"
ANSWER = """
mutation($id: ID!, $accept: Boolean!) {
  answerInvitation(id: $id, accept: $accept) {
    invitation { id status } membership { role organization { id } } errors { code }
  }
}
"""
LEAVE = "mutation($o: ID!) { leaveOrganization(organizationId: $o) { ok errors { code } } }"
REMOVE = (
    "mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) "
    "{ ok errors { code } } }"
)
ME = "query Me { me { memberships { role organization { id name kind } } } }"

PROFILE = {
    "name": "成都市锦江区实验小学",
    "kind": "SCHOOL",
    "regionCode": "510104",
    "contactName": "李老师",
    "contactPhone": "028-86651234",
    "address": "成都市锦江区科普路1号",
    "intro": "一所热爱科学的小学。",
}


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["errors"]]


def gid(organization: Organization) -> str:
    return to_global_id("Organization", organization.id)


async def test_provinces_are_the_34_provincial_level_divisions(api: Api):
    provinces = (await api.data(REGIONS))["regions"]

    assert len(provinces) == 34
    assert {"code": "510000", "name": "四川省", "level": "PROVINCE"} in provinces
    assert all(len(p["code"]) == 6 for p in provinces)


async def test_regions_go_down_to_counties_with_six_digit_codes(api: Api):
    cities = (await api.data(REGIONS, {"parentCode": "510000"}))["regions"]
    districts = (await api.data(REGIONS, {"parentCode": "510100"}))["regions"]
    beijing = (await api.data(REGIONS, {"parentCode": "110000"}))["regions"]

    assert {"code": "510100", "name": "成都市", "level": "PREFECTURE"} in cities
    assert len(cities) == 21
    assert {"code": "510104", "name": "锦江区", "level": "COUNTY"} in districts
    assert {"code": "110105", "name": "朝阳区", "level": "COUNTY"} in beijing


async def test_an_unknown_region_is_an_error(api: Api):
    body = await api.post(REGIONS, {"parentCode": "999999"})

    assert body["errors"][0]["extensions"]["code"] == "INVALID_REGION"


async def test_saving_a_profile_creates_the_unit_under_its_city_association(api: Api):
    filer = await person(api, "13912345678")

    result = (await api.data(SAVE_UNIT, {"input": PROFILE}, token=filer.token))["saveUnitProfile"]

    assert result["errors"] == []
    org = result["organization"]
    assert org["name"] == "成都市锦江区实验小学"
    assert org["contactPhone"] == "028-86651234"
    assert org["region"] == {"code": "510104", "name": "锦江区"}
    unit = await Organization.get(name="成都市锦江区实验小学")
    chengdu = await association(OrganizationKind.MUNICIPAL_ASSOCIATION, "510100")
    assert unit.parent_id == chengdu.id
    assert (unit.province_code, unit.prefecture_code) == ("510000", "510100")
    me = (await api.data(ME, token=filer.token))["me"]
    assert me["memberships"] == [
        {"role": "ADMIN", "organization": {"id": org["id"], "name": org["name"], "kind": "SCHOOL"}}
    ]
    assert await AuditLog.filter(action="unit_created").exists()


async def test_saving_again_updates_the_same_unit(api: Api):
    filer = await person(api, "13912345678")
    await api.data(SAVE_UNIT, {"input": PROFILE}, token=filer.token)

    result = (
        await api.data(
            SAVE_UNIT,
            {"input": {**PROFILE, "name": "成都市锦江区实验小学（本部）", "regionCode": "510105"}},
            token=filer.token,
        )
    )["saveUnitProfile"]

    assert result["errors"] == []
    assert await Organization.filter(kind=OrganizationKind.SCHOOL).count() == 1
    unit = await Organization.get(kind=OrganizationKind.SCHOOL)
    assert (unit.name, unit.region_id) == ("成都市锦江区实验小学（本部）", "510105")
    assert await AuditLog.filter(action="unit_updated").exists()


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"name": " "}, "name", "REQUIRED"),
        ({"name": "校" * 101}, "name", "INVALID"),
        ({"contactName": ""}, "contactName", "REQUIRED"),
        ({"contactPhone": "12345"}, "contactPhone", "INVALID_PHONE"),
        ({"address": ""}, "address", "REQUIRED"),
        ({"regionCode": "510199"}, "regionCode", "INVALID_REGION"),
        ({"regionCode": "51"}, "regionCode", "INVALID_REGION"),
        ({"intro": "长" * 2001}, "intro", "INVALID"),
        ({"kind": "PROVINCIAL_ASSOCIATION"}, "kind", "KIND_NOT_ALLOWED"),
        ({"kind": "NATIONAL_ORGANIZER"}, "kind", "KIND_NOT_ALLOWED"),
    ],
)
async def test_a_bad_profile_is_refused_and_creates_nothing(api: Api, change, field, code):
    filer = await person(api, "13912345678")
    before = await Organization.all().count()

    result = (await api.data(SAVE_UNIT, {"input": {**PROFILE, **change}}, token=filer.token))[
        "saveUnitProfile"
    ]

    assert result["organization"] is None
    assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, code)]
    assert await Organization.all().count() == before
    assert await Membership.all().count() == 0


async def test_a_unit_cannot_turn_itself_into_a_supervising_body(api: Api):
    filer = await person(api, "13912345678")
    await api.data(SAVE_UNIT, {"input": PROFILE}, token=filer.token)

    result = (
        await api.data(
            SAVE_UNIT, {"input": {**PROFILE, "kind": "MUNICIPAL_ASSOCIATION"}}, token=filer.token
        )
    )["saveUnitProfile"]

    assert codes(result) == ["KIND_NOT_ALLOWED"]
    assert (await Organization.get(name=PROFILE["name"])).kind is OrganizationKind.SCHOOL


async def test_saving_a_profile_needs_a_signed_in_person(api: Api):
    body = await api.post(SAVE_UNIT, {"input": PROFILE})

    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await Organization.filter(name=PROFILE["name"]).count() == 0


async def test_an_admin_of_another_unit_cannot_save_this_units_profile(api: Api):
    unit = await make_unit()
    other = await member(api, "13912345679", await make_unit("别的学校"), MemberRole.ADMIN)

    body = await api.post(
        "mutation($input: UnitProfileInput!, $id: ID) { saveUnitProfile(input: $input, "
        "organizationId: $id) { organization { id } errors { code } } }",
        {"input": {**PROFILE, "name": "改名"}, "id": gid(unit)},
        token=other.token,
    )

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await Organization.get(id=unit.id)).name == "成都市锦江区实验小学"


async def test_supervising_units_are_searched_by_name(api: Api):
    found = (await api.data(SUPERVISING, {"kind": "PROVINCIAL_ASSOCIATION", "search": "四川"}))[
        "supervisingUnits"
    ]

    assert [e["node"]["name"] for e in found["edges"]] == ["四川省科学技术协会"]
    assert found["totalCount"] == 1


async def test_supervising_units_are_filtered_by_region_subtree(api: Api):
    in_sichuan = (
        await api.data(
            SUPERVISING, {"kind": "MUNICIPAL_ASSOCIATION", "regionCode": "510000", "first": 100}
        )
    )["supervisingUnits"]
    in_chengdu = (
        await api.data(SUPERVISING, {"kind": "MUNICIPAL_ASSOCIATION", "regionCode": "510100"})
    )["supervisingUnits"]

    assert in_sichuan["totalCount"] == 21
    assert all(e["node"]["region"]["code"].startswith("51") for e in in_sichuan["edges"])
    assert [e["node"]["name"] for e in in_chengdu["edges"]] == ["成都市科学技术协会"]


async def test_supervising_units_page_through_without_gaps_or_repeats(api: Api):
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = (
            await api.data(
                SUPERVISING,
                {
                    "kind": "MUNICIPAL_ASSOCIATION",
                    "regionCode": "510000",
                    "first": 5,
                    "after": after,
                },
            )
        )["supervisingUnits"]
        seen += [e["node"]["id"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert pages == 5
    assert len(seen) == len(set(seen)) == 21


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": 101}, "INVALID_ARGUMENT"),
        ({"first": 0}, "INVALID_ARGUMENT"),
        ({"after": "garbage!"}, "INVALID_CURSOR"),
        ({"after": "WyJ4Il0="}, "INVALID_CURSOR"),  # ["x"]: a cursor of the wrong type
        ({"regionCode": "000000"}, "INVALID_REGION"),
        ({"search": "长" * 51}, "INVALID"),
    ],
)
async def test_bad_supervising_unit_arguments_are_errors(api: Api, variables, code):
    body = await api.post(SUPERVISING, {"kind": "MINISTRY", **variables})

    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == code


async def test_contact_details_are_private_to_the_unit_its_associations_and_national_staff(api):
    school = await make_unit()  # in Chengdu, Sichuan
    sichuan = await member(
        api,
        "13900000001",
        await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"),
        MemberRole.REVIEWER,
    )
    qinghai = await member(
        api,
        "13900000002",
        await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "630000"),
        MemberRole.REVIEWER,
    )
    staff = await member(api, "13900000003", await national_organizer(), MemberRole.REVIEWER)
    own = await member(api, "13900000004", school, MemberRole.FILER)
    other_unit = await member(api, "13900000005", await make_unit("别的学校"), MemberRole.ADMIN)
    public = await person(api, "13900000006")

    async def phone_seen_by(token: str | None) -> str | None:
        page = (await api.data(SUPERVISING, {"kind": "SCHOOL", "search": "锦江"}, token=token))[
            "supervisingUnits"
        ]
        return page["edges"][0]["node"]["contactPhone"]

    assert await phone_seen_by(None) is None
    assert await phone_seen_by(public.token) is None
    assert await phone_seen_by(other_unit.token) is None
    assert await phone_seen_by(qinghai.token) is None
    assert await phone_seen_by(sichuan.token) == "13900000000"
    assert await phone_seen_by(staff.token) == "13900000000"
    assert await phone_seen_by(own.token) == "13900000000"


async def test_an_admin_invites_and_the_person_decides(api: Api):
    """Nobody is made a member of a unit without their say: adding is an invitation, which the
    person accepts (then they are a member) in their own account."""
    unit = await make_unit()
    admin = await member(api, "13912345678", unit, MemberRole.ADMIN, "管理员甲")
    newcomer = await person(api, "13912345679", "新同事")

    result = (
        await api.data(
            ADD_MEMBER,
            {"organizationId": gid(unit), "phone": "13912345679", "role": "FILER"},
            token=admin.token,
        )
    )["addMember"]
    waiting = (await api.data(INVITATIONS, token=newcomer.token))["myInvitations"]
    before = await Membership.filter(user_id=newcomer.user.id).count()
    accepted = (
        await api.data(ANSWER, {"id": waiting[0]["id"], "accept": True}, token=newcomer.token)
    )["answerInvitation"]
    again = (
        await api.data(ANSWER, {"id": waiting[0]["id"], "accept": False}, token=newcomer.token)
    )["answerInvitation"]

    assert result["membership"] is None and result["errors"] == []
    assert result["invitation"]["status"] == "PENDING"
    assert result["invitation"]["invitedBy"] == "管理员甲"
    assert [(i["role"], i["organization"]["id"]) for i in waiting] == [("FILER", gid(unit))]
    assert before == 0
    assert accepted["membership"] == {"role": "FILER", "organization": {"id": gid(unit)}}
    assert again["errors"] == [{"code": "NOT_PENDING"}]
    assert await Membership.filter(user_id=newcomer.user.id, role=MemberRole.FILER).count() == 1
    assert await Notification.filter(recipient_id=newcomer.user.id, kind="INVITED").count() == 1
    for action in ("member_invited", "invitation_accepted"):
        assert await AuditLog.filter(action=action, target_id=str(unit.id)).exists()


async def test_a_declined_invitation_makes_nobody_a_member_and_only_its_invitee_answers(
    api: Api,
):
    unit = await make_unit()
    admin = await member(api, "13912345678", unit, MemberRole.ADMIN)
    newcomer = await person(api, "13912345679", "新同事")
    stranger = await person(api, "13912345670", "旁人")
    made = (
        await api.data(
            ADD_MEMBER,
            {"organizationId": gid(unit), "phone": "13912345679", "role": "ADMIN"},
            token=admin.token,
        )
    )["addMember"]["invitation"]

    by_stranger = (
        await api.data(ANSWER, {"id": made["id"], "accept": True}, token=stranger.token)
    )["answerInvitation"]
    declined = (await api.data(ANSWER, {"id": made["id"], "accept": False}, token=newcomer.token))[
        "answerInvitation"
    ]

    assert by_stranger["errors"] == [{"code": "NOT_FOUND"}]
    assert declined["invitation"]["status"] == "DECLINED" and declined["membership"] is None
    assert await Membership.filter(organization_id=unit.id).count() == 1
    assert (await api.data(INVITATIONS, token=newcomer.token))["myInvitations"] == []


async def test_an_invited_person_still_files_for_their_own_unit(api: Api):
    """Being invited elsewhere changes nothing until accepted (before, a unit's admin could add
    anyone, who then could not file for their real unit: AMBIGUOUS_UNIT)."""
    from tests.factories import filing_unit

    _, filer = await filing_unit(api, "13912345679")
    other = await make_unit("别的学校")
    admin = await member(api, "13912345678", other, MemberRole.ADMIN)

    await api.data(
        ADD_MEMBER,
        {"organizationId": gid(other), "phone": "13912345679", "role": "FILER"},
        token=admin.token,
    )

    memberships = (await api.data(ME, token=filer.token))["me"]["memberships"]
    assert {m["organization"]["name"] for m in memberships} == {"成都市锦江区实验小学"}


async def test_members_leave_and_admins_remove_but_never_the_last_admin(api: Api):
    unit = await make_unit()
    admin = await member(api, "13912345678", unit, MemberRole.ADMIN)
    filer = await member(api, "13912345679", unit, MemberRole.FILER)
    leaver = await member(api, "13912345670", unit, MemberRole.FILER)
    org = gid(unit)

    left = (await api.data(LEAVE, {"o": org}, token=leaver.token))["leaveOrganization"]
    last_leaves = (await api.data(LEAVE, {"o": org}, token=admin.token))["leaveOrganization"]
    removed = (
        await api.data(
            REMOVE, {"o": org, "u": to_global_id("User", filer.user.id)}, token=admin.token
        )
    )["removeMember"]
    last_removed = (
        await api.data(
            REMOVE, {"o": org, "u": to_global_id("User", admin.user.id)}, token=admin.token
        )
    )["removeMember"]
    by_non_admin = await api.post(
        REMOVE, {"o": org, "u": to_global_id("User", admin.user.id)}, token=leaver.token
    )

    assert left == {"ok": True, "errors": []}
    assert last_leaves["errors"] == [{"code": "LAST_ADMIN"}]
    assert removed == {"ok": True, "errors": []}
    assert last_removed["errors"] == [{"code": "LAST_ADMIN"}]
    assert by_non_admin["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await Membership.filter(organization_id=unit.id).count() == 1
    for action in ("member_left", "member_removed"):
        assert await AuditLog.filter(action=action, target_id=str(unit.id)).exists()


async def test_adding_a_member_refuses_unknown_people_and_duplicates(api: Api):
    unit = await make_unit()
    admin = await member(api, "13912345678", unit, MemberRole.ADMIN)
    args = {"organizationId": gid(unit), "role": "ADMIN"}

    unknown = (await api.data(ADD_MEMBER, {**args, "phone": "13912340000"}, token=admin.token))[
        "addMember"
    ]
    duplicate = (await api.data(ADD_MEMBER, {**args, "phone": "13912345678"}, token=admin.token))[
        "addMember"
    ]
    bad_id = (
        await api.data(
            ADD_MEMBER, {**args, "organizationId": "bm9wZQ==", "phone": "1"}, token=admin.token
        )
    )["addMember"]

    assert codes(unknown) == ["USER_NOT_FOUND"]
    assert codes(duplicate) == ["ALREADY_MEMBER"]
    assert codes(bad_id) == ["INVALID"]
    assert await Membership.filter(organization_id=unit.id).count() == 1


@pytest.mark.parametrize("who", ["anonymous", "public", "filer", "other_admin"])
async def test_only_admins_add_members(api: Api, who):
    unit = await make_unit()
    await make_user("13912340000", "候选人")
    actors = {
        "anonymous": None,
        "public": (await person(api, "13912345670")).token,
        "filer": (await member(api, "13912345671", unit, MemberRole.FILER)).token,
        "other_admin": (
            await member(api, "13912345672", await make_unit("别的学校"), MemberRole.ADMIN)
        ).token,
    }
    before = await Membership.all().count()

    body = await api.post(
        ADD_MEMBER,
        {"organizationId": gid(unit), "phone": "13912340000", "role": "ADMIN"},
        token=actors[who],
    )

    expected = "UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN"
    assert body["errors"][0]["extensions"]["code"] == expected
    assert body["data"] is None
    assert await Membership.all().count() == before


async def test_a_national_admin_adds_members_to_any_organization(api: Api):
    staff = await member(api, "13912345678", await national_organizer(), MemberRole.ADMIN)
    sichuan = await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "510000")
    await make_user("13912345679", "四川审核员")

    result = (
        await api.data(
            ADD_MEMBER,
            {"organizationId": gid(sichuan), "phone": "13912345679", "role": "REVIEWER"},
            token=staff.token,
        )
    )["addMember"]

    assert result["errors"] == [] and result["invitation"]["status"] == "PENDING"
    assert (
        await Membership.filter(organization_id=sichuan.id, role=MemberRole.REVIEWER).count() == 0
    )
