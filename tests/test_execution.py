"""The shorter way plain fields are executed (schema/execution.py) answers exactly as strawberry
and graphql-core do: the same data, the same errors at the same paths, whatever a field gives."""

from __future__ import annotations

import asyncio
import enum
from datetime import UTC, datetime

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

import schema
from schema.execution import Execution, Resolver, plain_fields


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Row:
    """A source object as the ORM gives them: attributes, some of them wrong on purpose."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.name = f"row{n}"
        self.maybe = None if n % 2 else "here"
        self.when = datetime(2026, 9, 1, 8, n, tzinfo=UTC)
        self.colour = Colour.BLUE if n % 2 else Colour.RED
        self.missing_name = None  # null for a field that says it cannot be
        self.wrong_colour = "PURPLE"  # not a value of the enum


@strawberry.type
class Item:
    name: str
    maybe: str | None
    when: datetime
    colour: Colour

    @strawberry.field(name="missingName")
    def missing_name(self, root: strawberry.Parent[Row]) -> str:
        return root.missing_name  # type: ignore[no-any-return]

    @strawberry.field
    def wrong_colour(self, root: strawberry.Parent[Row]) -> Colour:
        return root.wrong_colour  # type: ignore[return-value]

    @strawberry.field
    def shout(self, root: strawberry.Parent[Row]) -> str:
        return root.name.upper()

    @strawberry.field
    def where(self, root: strawberry.Parent[Row], info: Info) -> str:
        return f"{info.path.as_list()} {info.field_name} {info.context['who']}"

    @strawberry.field
    def broken(self, root: strawberry.Parent[Row]) -> str | None:
        if root.n == 1:
            raise ValueError("第1项坏了")
        return "fine"

    @strawberry.field
    def broken_required(self, root: strawberry.Parent[Row]) -> str:
        if root.n == 1:
            raise ValueError("第1项坏了，不能为空")
        return "fine"

    @strawberry.field
    def later(self, root: strawberry.Parent[Row]) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        future.set_result(f"later{root.n}")
        return future  # type: ignore[return-value]

    @strawberry.field
    async def awaited(self, root: strawberry.Parent[Row]) -> int:
        await asyncio.sleep(0)
        return root.n * 10

    @strawberry.field
    def child(self, root: strawberry.Parent[Row]) -> Item | None:
        return Row(root.n + 10) if root.n < 2 else None  # type: ignore[return-value]

    @strawberry.field
    def required_child(self, root: strawberry.Parent[Row]) -> Item:
        return None if root.n == 2 else Row(root.n + 20)  # type: ignore[return-value]

    @strawberry.field
    def children(self, root: strawberry.Parent[Row]) -> list[Item]:
        return [Row(root.n * 100 + i) for i in range(2)]  # type: ignore[misc]

    @strawberry.field
    def tags(self, root: strawberry.Parent[Row]) -> list[str]:
        return [f"tag{root.n}", "科普"] if root.n else []

    @strawberry.field
    def colours(self, root: strawberry.Parent[Row]) -> list[Colour] | None:
        return None if root.n == 3 else [root.colour, Colour.RED]

    @strawberry.field
    def broken_tags(self, root: strawberry.Parent[Row]) -> list[str]:
        return ["好", None] if root.n == 1 else ["好"]  # type: ignore[list-item]

    @strawberry.field
    def wrong_colours(self, root: strawberry.Parent[Row]) -> list[Colour]:
        return [root.wrong_colour] if root.n == 2 else [Colour.BLUE]  # type: ignore[list-item]

    @strawberry.field
    def numbers(self, root: strawberry.Parent[Row]) -> list[int]:
        return [root.n, 2**40] if root.n == 3 else [root.n]  # past GraphQL's Int at 3

    @strawberry.field
    def argument(self, root: strawberry.Parent[Row], times: int = 2) -> str:
        return root.name * times


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [Row(n) for n in range(4)]  # type: ignore[misc]


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    """The same types executed the shorter way and strawberry's way."""
    config = StrawberryConfig(auto_camel_case=True)
    short = strawberry.Schema(query=Query, config=config, execution_context_class=Execution)
    plain_fields(short)
    return short, strawberry.Schema(query=Query, config=config)


SELECTIONS = [
    "name maybe when colour shout",
    "where",
    "broken",
    "brokenRequired",
    "missingName",
    "wrongColour",
    "later awaited",
    "child { name shout child { name } }",
    "requiredChild { name }",
    "children { name children { shout } }",
    "argument(times: 3) named: argument",
    "tags colours",
    "brokenTags",
    "wrongColours",
    "numbers",
    "__typename a: name b: name",
    "... on Item { name } ... F",
]


@pytest.mark.parametrize("selection", SELECTIONS)
async def test_each_kind_of_field_is_answered_as_strawberry_answers_it(selection: str):
    short, usual = schemas()
    query = "{ items { " + selection + " } }"
    if "... F" in selection:
        query += " fragment F on Item { shout colour }"
    answers = []
    for one in (short, usual):
        result = await one.execute(query, context_value={"who": "访客"})
        errors = [(e.message, e.path) for e in result.errors or []]
        answers.append((result.data, errors))

    assert answers[0] == answers[1]


def test_plain_fields_of_the_schema_are_called_directly():
    """Strawberry's layers stay for the fields with arguments (they convert them)."""
    built = schema.build_schema()._schema
    activity = built.type_map["Activity"].fields  # type: ignore[attr-defined]
    campaign = built.type_map["Campaign"].fields  # type: ignore[attr-defined]

    assert isinstance(activity["label"].resolve, Resolver)
    assert isinstance(activity["engagement"].resolve, Resolver)
    assert campaign["subTheme"].args
    assert not isinstance(campaign["subTheme"].resolve, Resolver)


async def test_a_document_whose_directives_decide_is_collected_for_each_request():
    """The selections of an operation are worked out once and shared by its requests, unless
    a directive decides on them with the variables: then each request gets its own."""
    short, usual = schemas()
    query = """query($quiet: Boolean!) { items { name shout @skip(if: $quiet)
      child @include(if: $quiet) { name } ... F } }
      fragment F on Item { colour @skip(if: $quiet) }"""
    for quiet in (True, False, True):
        answers = [
            (await one.execute(query, variable_values={"quiet": quiet})).data
            for one in (short, usual)
        ]

        assert answers[0] == answers[1]
        assert ("shout" in answers[0]["items"][0]) is not quiet  # type: ignore[index]


async def test_the_same_document_answers_the_same_again():
    short, usual = schemas()
    query = "{ items { name child { shout } children { name } } }"
    first = (await short.execute(query)).data
    again = (await short.execute(query)).data

    assert first == again == (await usual.execute(query)).data
