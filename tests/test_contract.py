"""The committed schema, the migrations and the client contract stay in step with the code."""

from __future__ import annotations

from graphql import build_schema, parse, validate
from graphql.language import OperationDefinitionNode
from tortoise import Tortoise, connections
from tortoise.migrations.autodetector import MigrationAutodetector

import models
from kepuri.db import tortoise_config
from schema import sdl
from tests.conftest import ROOT, SHARED


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
        errors = validate(schema, parse(text))
        if errors:
            failures[name] = [e.message for e in errors]

    assert operations and failures == {}


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


async def _indexes(table: str) -> tuple[set[str], int]:
    """The names of a table's indexes, and how many of them are unique (primary keys aside)."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        _, rows = await conn.execute_query(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1", [table]
        )
        kept = [r for r in rows if not r["indexname"].endswith("_pkey")]
        return {r["indexname"] for r in kept}, sum("UNIQUE" in r["indexdef"] for r in kept)
    _, rows = await conn.execute_query(f'PRAGMA index_list("{table}")')
    kept = [r for r in rows if r["origin"] != "pk"]
    return {r["name"] for r in kept}, sum(bool(r["unique"]) for r in kept)


async def test_every_declared_index_and_unique_key_exists_after_migrating(app):
    """The migrated database has what the models declare. Tortoise 1.1 remakes a SQLite table for
    an AlterField and drops its indexes: 0009 lost the unique key that keeps each notification
    exactly once (found by the commendation test), and 0002 had lost the codes index."""
    missing = {}
    for name in models.__all__:
        meta = getattr(models, name)._meta
        names, unique = await _indexes(meta.db_table)
        declared = {i.name for i in meta.indexes if getattr(i, "name", None)}
        unique_fields = sum(
            1
            for field_name in meta.fields_db_projection
            if meta.fields_map[field_name].unique and not meta.fields_map[field_name].pk
        )
        expected_unique = len(meta.unique_together) + unique_fields
        if not declared <= names or unique < expected_unique:
            missing[meta.db_table] = (sorted(declared - names), unique, expected_unique)
    assert missing == {}
