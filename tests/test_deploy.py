"""deploy/docker-compose.yml, the reference production set-up: checked here, never started
(these machines have no Docker daemon)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "deploy" / "docker-compose.yml"


def readme_settings() -> list[str]:
    """The variables of the README's configuration table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"^\| `([A-Z0-9_]+)`(?:, `([A-Z0-9_]+)`)?", table, re.MULTILINE)
    return [name for pair in names for name in pair if name]


def test_compose_runs_postgresql_bozor_in_webhook_mode_and_nginx_with_health_checks() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"db", "bozor", "nginx"}
    bozor = services["bozor"]
    environment = bozor["environment"]

    settings = readme_settings()
    assert len(settings) >= 17, settings  # the table was found
    missing = [name for name in settings if name not in environment]
    assert not missing, f"the README lists settings the compose file does not name: {missing}"
    assert environment["TELEGRAM_MODE"] == "webhook" and environment["DATA_DIR"] == "/data"
    database_url = environment["DATABASE_URL"]
    assert database_url.startswith("postgresql://") and "@db:5432/" in database_url
    assert "PUBLIC_URL:?" in environment["PUBLIC_URL"]  # refuses to start without it

    # Data survives a new container: Bozor's DATA_DIR and PostgreSQL's data are named volumes.
    assert "bozor-data:/data" in bozor["volumes"]
    assert any(v.startswith("pg-data:") for v in services["db"]["volumes"])
    assert {"bozor-data", "pg-data"} <= set(compose["volumes"])

    # Bozor waits for a healthy database; nginx for a healthy Bozor, whose check is /healthz.
    for name in ("db", "bozor", "nginx"):
        assert services[name]["healthcheck"]["test"], name
    assert "/healthz" in " ".join(bozor["healthcheck"]["test"])
    assert bozor["depends_on"]["db"]["condition"] == "service_healthy"
    nginx = services["nginx"]
    assert nginx["depends_on"]["bozor"]["condition"] == "service_healthy"
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    assert (COMPOSE.parent / "nginx.conf").is_file() and (ROOT / "Dockerfile").is_file()


def test_the_readme_documents_the_compose_file_as_the_reference() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deployment = readme.split("## Deployment", 1)[1].split("\n## ", 1)[0]
    assert "deploy/docker-compose.yml" in deployment and "docker run" in deployment
    assert "not start" in deployment  # the suite checks it, it does not run it
