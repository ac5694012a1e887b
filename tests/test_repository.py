"""Files that cannot run here (no Docker engine) or that a newcomer reads, checked against code."""

from __future__ import annotations

import re

import yaml

from kepuri.cli import HANDLERS
from kepuri.settings import documented_variables
from tests.conftest import ROOT

# Read by uvicorn itself rather than by kepuri.settings.
UVICORN_VARIABLES = {"FORWARDED_ALLOW_IPS"}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_runs_two_api_replicas_a_worker_postgres_and_redis():
    services = compose()["services"]

    assert {"api", "worker", "postgres", "redis", "migrate"} <= set(services)
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["api"]["command"][:2] == ["kepuri", "serve"]
    assert "--no-worker" in services["api"]["command"]
    assert services["worker"]["command"] == ["kepuri", "worker"]
    assert services["migrate"]["command"] == ["kepuri", "migrate"]
    for name in ("api", "worker", "migrate"):
        assert services[name]["command"][1] in HANDLERS


def test_compose_environment_is_what_the_code_reads():
    services = compose()["services"]
    known = set(documented_variables()) | UVICORN_VARIABLES
    for name in ("api", "worker", "migrate"):
        env = services[name]["environment"]
        assert set(env) <= known, f"{name}: {set(env) - known}"
        assert env["KEPURI_ENV"] == "production"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["DATABASE_URL"].endswith("@postgres:5432/kepuri")
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert "?" in env["SECRET_KEY"]  # required from outside, never a default
        assert env["SMS_BACKEND"] == "http"


def test_api_and_worker_share_the_media_volume():
    services = compose()["services"]

    for name in ("api", "worker"):
        assert "media:/app/var/media" in services[name]["volumes"]


def test_the_image_runs_unprivileged_with_cjk_fonts():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")

    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}
    assert "fonts-noto-cjk" in dockerfile or "fonts-wqy-zenhei" in dockerfile
    assert "libharfbuzz-subset0" in dockerfile
    assert "KEPURI_ENV=production" in dockerfile
    for package in ("kepuri", "schema", "resolvers", "models", "services", "workers", "migrations"):
        assert f"COPY {package} " in dockerfile


def test_the_readme_documents_every_setting_and_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    missing = [name for name in documented_variables() if f"`{name}`" not in readme]
    assert missing == []
    for command in HANDLERS:
        assert f"kepuri {command}" in readme
    assert "make run" in readme and "make test" in readme and "make lint" in readme


def test_ci_runs_both_backends():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")

    assert "TEST_DATABASE_URL" in ci and "TEST_REDIS_URL" in ci
    assert "make test" in ci
    assert "-u TEST_DATABASE_URL" in makefile  # run 1 is the embedded pair, whatever is set
