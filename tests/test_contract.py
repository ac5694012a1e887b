"""The committed schema, the migrations and the client contract stay in step with the code."""

from __future__ import annotations

from graphql import build_schema, parse, validate
from graphql.language import OperationDefinitionNode
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

import models
from kepuri.db import tortoise_config
from schema import sdl
from tests.conftest import ROOT, SHARED

# Operations of ../shared/client-operations.graphql that later issues build. Each issue removes
# its own; this list only shrinks.
PENDING = {
    # documents (issue 5)
    # notifications (issue 6)
    # provincial portals (issue 7)
    # recommendation, evaluation, commendation (issue 8)
    "Recommend",
    "WithdrawRecommendation",
    "ScoreIndicator",
    "Evaluation",
    "DecideCommendations",
    "RaiseObjection",
    "RemoveCommendation",
    "FinalizeCommendations",
    "Commendations",
    "VerifyCertificate",
    "RequestCertificates",
}


def client_operations() -> dict[str, str]:
    """Each named operation of the contract, as its own document text."""
    text = (SHARED / "client-operations.graphql").read_text(encoding="utf-8")
    document = parse(text)
    operations = {}
    for node in document.definitions:
        assert isinstance(node, OperationDefinitionNode) and node.name and node.loc
        operations[node.name.value] = text[node.loc.start : node.loc.end]
    return operations


def test_the_committed_schema_matches_the_code():
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")

    assert committed == sdl(), "schema.graphql is stale: run `.venv/bin/kepuri export-schema`"


def test_every_built_client_operation_validates_against_the_schema():
    schema = build_schema(sdl())
    operations = client_operations()
    failures = {}
    for name, text in operations.items():
        if name in PENDING:
            continue
        errors = validate(schema, parse(text))
        if errors:
            failures[name] = [e.message for e in errors]

    assert failures == {}
    assert set(operations) >= PENDING, "a pending name is not in the contract"


def test_pending_operations_really_are_missing():
    """An operation that validates must leave the pending list (it only shrinks)."""
    schema = build_schema(sdl())
    built = {
        name
        for name, text in client_operations().items()
        if name in PENDING and not validate(schema, parse(text))
    }

    assert built == set(), f"remove from PENDING: {sorted(built)}"


async def test_every_model_change_has_its_migration(app):
    config = tortoise_config("sqlite://:memory:")["apps"]
    detector = MigrationAutodetector(Tortoise.apps, config)

    writers = await detector.changes()

    assert writers == [], "models changed without a migration: run `tortoise makemigrations`"


def test_model_docstrings_have_no_semicolons():
    """Tortoise puts docstrings into CREATE TABLE comments, and SQLite's migration runner splits
    statements on ';' (a semicolon there broke the first migration)."""
    for name in models.__all__:
        assert ";" not in (getattr(models, name).__doc__ or ""), name
