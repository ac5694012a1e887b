"""Files that cannot run here (no Docker engine) or that a newcomer reads, checked against code."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from infra.settings import documented_variables, load_settings
from kepuri.cli import HANDLERS
from tests.conftest import ROOT

# Read by uvicorn itself rather than by infra.settings.
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


def test_api_and_worker_share_the_object_store_and_no_folder():
    services = compose()["services"]

    assert "minio" in services and "healthcheck" in services["minio"]
    for name in ("api", "worker", "migrate"):
        env = services[name]["environment"]
        assert env["S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env["S3_BUCKET"] and env["S3_PATH_STYLE"] == "true"
        assert "?" in env["S3_SECRET_KEY"]  # required from outside, never a default
        assert "volumes" not in services[name]
    assert "healthcheck" in services["api"] and "/readyz" in str(services["api"]["healthcheck"])
    assert "condition" in services["migrate"]["depends_on"]["minio"]


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


def test_the_readme_shows_the_screenshots_that_make_screenshots_takes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    script = (ROOT / "docs" / "screenshots.py").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")

    shown = re.findall(r'<img src="(docs/screenshots/[^"]+)"', readme)
    assert sorted(shown) == sorted(
        f"docs/screenshots/{name}" for name in re.findall(r'"([\w-]+\.png)"\)', script)
    )
    assert len(shown) == 3
    for path in shown:
        assert (ROOT / path).read_bytes().startswith(b"\x89PNG"), path
    assert "make screenshots" in readme and "docs/screenshots.py" in makefile


def test_ci_runs_both_backends():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")

    assert "TEST_DATABASE_URL" in ci and "TEST_REDIS_URL" in ci
    assert "make test" in ci
    assert "-u TEST_DATABASE_URL" in makefile  # run 1 is the embedded pair, whatever is set


def test_only_the_proxy_is_published_and_only_it_is_trusted_for_client_addresses():
    """Rate limits count per client address: behind the proxy, the API must see each client's,
    believing X-Forwarded-For from the stack's network only, and the proxy must overwrite what
    a client sends in it."""
    import ipaddress

    stack = compose()
    services = stack["services"]
    subnet = stack["networks"]["kepuri"]["ipam"]["config"][0]["subnet"]
    nginx = (ROOT / "docker" / "nginx.conf").read_text(encoding="utf-8")

    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in services["proxy"]["volumes"]
    trusted = services["api"]["environment"]["FORWARDED_ALLOW_IPS"]
    assert ipaddress.ip_network(trusted) == ipaddress.ip_network(subnet)
    assert all(service.get("networks") == ["kepuri"] for service in services.values())
    assert re.search(r"proxy_set_header X-Forwarded-For \$remote_addr;", nginx)
    assert "$proxy_add_x_forwarded_for" not in nginx  # that would keep a client's own claim
    assert "proxy_pass $api;" in nginx and "set $api http://api:8000;" in nginx


async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(app, settings):
    """As `kepuri serve` runs uvicorn (proxy headers on): two clients behind a trusted proxy
    have a code limit each; from an untrusted peer the header changes nothing."""
    import asyncio

    import httpx
    import uvicorn

    from tests.conftest import free_port

    settings(rate_limit_code_address="1/hour", rate_limit_code_phone="100/hour")
    query = (
        "mutation($p: String!) { requestVerificationCode(phone: $p, purpose: REGISTER) "
        "{ sent errors { code } } }"
    )

    async def codes(trusted: str) -> list[bool]:
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                port=port,
                lifespan="off",
                log_config=None,
                proxy_headers=True,
                forwarded_allow_ips=trusted,
            )
        )
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
            await asyncio.sleep(0.02)
        sent = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for n, address in enumerate(("203.0.113.7", "203.0.113.8")):
                response = await client.post(
                    "/graphql",
                    json={"query": query, "variables": {"p": f"1398877{trusted[-1]}00{n}"}},
                    headers={"X-Forwarded-For": address},
                )
                sent.append(response.json()["data"]["requestVerificationCode"]["sent"])
        server.should_exit = True
        await task
        return sent

    assert await codes("127.0.0.1") == [True, True]  # two clients behind the proxy
    assert await codes("10.9.9.9") == [True, False]  # one peer, whatever it claims


def test_imports_go_only_downwards():
    """wiring > API > domain > machinery (pyproject's [tool.importlinter]): services never import
    the API or the wiring, models never import services, infra imports nothing of the domain.
    (In a process of its own: import-linter configures the logging of the process it runs in.)"""
    check = "import sys, importlinter.cli as c; sys.exit(c.lint_imports(no_cache=True))"
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stdout + result.stderr


# Settings tests change in place (tests/conftest.py's `settings`); no one sets them from outside.
NOT_FROM_THE_ENVIRONMENT = {
    "verification_code_max_attempts",
    "verification_code_ttl",
    "webhook_retry_scale",
}


def test_every_setting_is_read_from_the_environment():
    """A setting the code has but no variable sets is a README line that does nothing."""
    from dataclasses import fields

    from infra.settings import _ENV, Settings

    read = {attr for attr, _ in _ENV.values()}
    assert {f.name for f in fields(Settings)} - read == NOT_FROM_THE_ENVIRONMENT
    assert load_settings({"FRAUD_FAR_KM": "80", "BOOKING_OFFER_HOURS": "6"}).fraud_far_km == 80
