"""compose.yaml, .env.example and the Dockerfile, checked without a Docker engine.

What `docker compose config` does is done here: compose.yaml is interpolated (the compose-spec syntax:
``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}``, ``$$``) with the values of .env.example and validated
against the official compose-spec JSON Schema, which the check-jsonschema package (dev extra) vendors. Then what
the schema cannot see: dependencies, volumes, documented variables, and the app's settings as compose starts it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft202012Validator

from app.cli import _is_loopback
from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE, ENV_EXAMPLE, DOCKERFILE = ROOT / "compose.yaml", ROOT / ".env.example", ROOT / "Dockerfile"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
SCHEMA_FALLBACK = Path(os.environ.get("COMPOSE_SPEC_SCHEMA", "~/.cache/medevidence/compose-spec.json")).expanduser()
SECRET = "0123456789abcdef" * 2  # stands in for each secret .env.example leaves empty
COMPOSE_OWN = {"COMPOSE_PROFILES"}  # read by Compose itself, not by compose.yaml
_REF = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_EXPR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", re.S)


class Missing(ValueError):
    """A ``${VAR:?message}`` (or ``${VAR?message}``) whose variable is empty or unset."""


def interpolate(text: str, env: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        if m["named"]:
            return env.get(m["named"], "")
        parsed = _EXPR.fullmatch(m["braced"])
        if parsed is None or "$" in (parsed[3] or ""):
            raise ValueError(f"interpolation this check does not handle: ${{{m['braced']}}}")
        name, op, arg = parsed.groups()
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise Missing(f"{name}: {arg}")
        if op == ":-":
            return value or arg
        if op == "-":
            return arg if value is None else value
        if op in (":+", "+"):
            return arg if (value if op == ":+" else value is not None) else ""
        return value or ""

    return _REF.sub(one, text)


def walk(node: Any, fn: Any) -> Any:
    if isinstance(node, dict):
        return {key: walk(value, fn) for key, value in node.items()}
    if isinstance(node, list):
        return [walk(item, fn) for item in node]
    return fn(node) if isinstance(node, str) else node


def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def references() -> list[tuple[str, str | None, str | None]]:
    """(name, operator, argument) of every ``${...}`` / ``$NAME`` in compose.yaml's values."""
    found: list[tuple[str, str | None, str | None]] = []

    def collect(text: str) -> str:
        for m in _REF.finditer(text):
            if m["named"]:
                found.append((m["named"], None, None))
            elif m["braced"] is not None and (parsed := _EXPR.fullmatch(m["braced"])):
                found.append(parsed.groups())
        return text

    walk(raw(), collect)
    return found


def env_example() -> tuple[dict[str, str], dict[str, str]]:
    """.env.example as (active NAME=value lines, commented ``# NAME=value`` examples)."""
    active: dict[str, str] = {}
    examples: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if m := re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip()):
            value = m[3][1:-1] if len(m[3]) > 1 and m[3][0] == m[3][-1] and m[3][0] in "'\"" else m[3]
            (examples if m[1] else active)[m[2]] = value
    return active, examples


def environment(active_examples: bool) -> dict[str, str]:
    """The environment compose would see: .env.example (with its examples applied, or not), secrets filled in."""
    active, examples = env_example()
    env = {**active, **(examples if active_examples else {})}
    return {name: value or SECRET for name, value in env.items()}


def model(active_examples: bool = False) -> dict[str, Any]:
    env = environment(active_examples)
    return walk(raw(), lambda text: interpolate(text, env))


def env_of(service: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """A service's container environment: a null entry takes the value from .env, or is left out."""
    entries = service.get("environment") or {}
    if isinstance(entries, list):
        entries = dict(item.split("=", 1) if "=" in item else (item, None) for item in entries)
    resolved = {k: env.get(k) if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in entries.items()}
    return {k: v for k, v in resolved.items() if v is not None}


def settings_of(service: str, monkeypatch: pytest.MonkeyPatch, active_examples: bool = False) -> Settings:
    for name in list(os.environ):
        if name.startswith("MEDEVIDENCE_"):
            monkeypatch.delenv(name)
    env = environment(active_examples)
    for name, value in env_of(model(active_examples)["services"][service], env).items():
        monkeypatch.setenv(name, value)
    return Settings()


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    spec = importlib.util.find_spec("check_jsonschema")
    if spec and spec.origin:
        vendor = Path(spec.origin).parent / "builtin_schemas" / "vendor"
        text = (vendor / "compose-spec.json").read_bytes()
        digest = vendor / "sha256" / "compose-spec.sha256"
        if digest.exists():
            assert hashlib.sha256(text).hexdigest() == digest.read_text().strip(), "vendored schema altered"
    elif SCHEMA_FALLBACK.exists():
        text = SCHEMA_FALLBACK.read_bytes()
    else:
        pytest.fail("no compose-spec schema: install the dev extra (check-jsonschema) or set COMPOSE_SPEC_SCHEMA")
    loaded = json.loads(text)
    Draft202012Validator.check_schema(loaded)
    assert loaded["$id"] == "compose_spec.json" and "services" in loaded["properties"]
    return loaded


def schema_errors(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    errors = Draft202012Validator(schema).iter_errors(document)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


@pytest.mark.parametrize("active_examples", [False, True], ids=["defaults", "every-example-set"])
def test_compose_file_is_valid_compose_spec(schema: dict[str, Any], active_examples: bool) -> None:
    assert schema_errors(schema, model(active_examples)) == []


def test_the_schema_check_bites(schema: dict[str, Any]) -> None:
    broken = model()
    broken["services"]["indexer"]["restart"] = False  # what an unquoted YAML `no` becomes
    broken["services"]["app"]["depends_on"]["indexer"]["condition"] = "service_done"
    broken["services"]["app"]["helthcheck"] = {}
    assert len(schema_errors(schema, broken)) >= 3


def test_required_secrets_are_left_empty_in_env_example() -> None:
    required = {name for name, op, _ in references() if op == ":?"}
    active, _ = env_example()
    assert required and all(active.get(name) == "" for name in required), "each required secret: an empty NAME="
    with pytest.raises(Missing):
        walk(raw(), lambda text: interpolate(text, active))  # an unedited copy of .env.example refuses to start


def test_every_variable_is_documented_and_used() -> None:
    used = {name for name, _, _ in references()}
    passthrough = {name for service in raw()["services"].values()
                   for name, value in (service.get("environment") or {}).items() if value is None}
    active, examples = env_example()
    documented = set(active) | set(examples)
    assert used | passthrough <= documented, f"not in .env.example: {sorted((used | passthrough) - documented)}"
    assert documented - COMPOSE_OWN <= used | passthrough, f"unused: {sorted(documented - used - passthrough)}"


def test_documented_defaults_match_compose() -> None:
    defaults: dict[str, set[str]] = {}
    for name, op, arg in references():
        if op == ":-":
            defaults.setdefault(name, set()).add(arg or "")
    _, examples = env_example()
    for name, values in defaults.items():
        assert len(values) == 1, f"{name} has different defaults in compose.yaml: {values}"
        if name in examples:
            assert examples[name] == next(iter(values)), f".env.example shows another default for {name}"


def test_depends_on_targets_exist_and_wait_for_the_right_thing() -> None:
    services = model()["services"]
    for name, service in services.items():
        deps = service.get("depends_on") or {}
        for target, rule in (deps.items() if isinstance(deps, dict) else ((d, {}) for d in deps)):
            assert target in services and target != name, f"{name} depends on unknown {target}"
            if rule.get("condition") == "service_healthy":
                assert not services[target].get("healthcheck", {}).get("disable"), f"{target} has no healthcheck"
            if rule.get("condition") == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} must be one-shot"
    conditions = {s: {t: r["condition"] for t, r in services[s]["depends_on"].items()} for s in ("indexer", "app")}
    assert conditions["indexer"] == {"qdrant": "service_healthy", "neo4j": "service_healthy"}
    assert conditions["app"] == {"indexer": "service_completed_successfully", "qdrant": "service_healthy",
                                 "neo4j": "service_healthy", "postgres": "service_healthy", "vllm": "service_healthy",
                                 "reranker": "service_started"}  # the app answers without it (fused order)
    assert services["app"]["depends_on"]["vllm"]["required"] is False  # only with the gpu profile
    assert services["app"]["depends_on"]["reranker"]["required"] is False  # only with the rerank profile


def test_named_volumes_are_declared_and_used() -> None:
    compose = model()
    declared = set(compose.get("volumes") or {})
    mounted = {str(v).split(":", 1)[0] if isinstance(v, str) else v.get("source")
               for service in compose["services"].values() for v in service.get("volumes", [])}
    named = {source for source in mounted if source and not source.startswith(("/", ".", "~"))}
    assert named == declared


def test_commands_healthchecks_and_profiles() -> None:
    services = model()["services"]
    assert services["indexer"]["command"] == ["medevidence", "index"] and services["indexer"]["restart"] == "no"
    serve = services["app"]["command"]
    assert serve[:2] == ["medevidence", "serve"] and serve[serve.index("--host") + 1] == "0.0.0.0"
    probe = " ".join(services["app"]["healthcheck"]["test"])
    assert f"127.0.0.1:{serve[serve.index('--port') + 1]}/readyz" in probe
    assert all("healthcheck" in services[s] for s in ("qdrant", "neo4j", "postgres", "vllm", "reranker", "app"))
    assert [name for name, s in services.items() if s.get("profiles")] == ["vllm", "reranker"]
    assert services["vllm"]["profiles"] == ["gpu"] and services["reranker"]["profiles"] == ["rerank"]


def test_vllm_serves_what_the_app_asks_for(monkeypatch: pytest.MonkeyPatch) -> None:
    vllm = model(active_examples=True)["services"]["vllm"]
    args = dict(zip(vllm["command"][::2], vllm["command"][1::2], strict=True))
    gpus = vllm["deploy"]["resources"]["reservations"]["devices"][0]
    assert args["--reasoning-parser"] == "deepseek_r1"
    assert gpus["driver"] == "nvidia" and "gpu" in gpus["capabilities"]
    assert str(gpus["count"]) == args["--tensor-parallel-size"]
    assert "/health" in " ".join(vllm["healthcheck"]["test"])
    app = settings_of("app", monkeypatch, active_examples=True)
    assert app.llm_url is not None
    url = urlsplit(app.llm_url)
    assert (url.hostname, str(url.port)) == ("vllm", args["--port"]) and url.path == "/v1"
    assert (app.llm_model, app.llm_api_key) == (args["--served-model-name"], args["--api-key"])
    assert not app.llm_reasoning_implicit_start  # vLLM's reasoning parser splits the reasoning off


def test_the_reranker_serves_what_the_app_asks_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rerank profile: vLLM serving a cross-encoder as a pooling model on one GPU, the app pointed at it (with
    .env.example's examples), and without the profile no reranker at all."""
    reranker = model(active_examples=True)["services"]["reranker"]
    args = dict(zip(reranker["command"][::2], reranker["command"][1::2], strict=True))
    gpus = reranker["deploy"]["resources"]["reservations"]["devices"][0]
    assert args["--runner"] == "pooling" and args["--model"] == "BAAI/bge-reranker-v2-m3"
    assert gpus["driver"] == "nvidia" and gpus["device_ids"] == ["0"] and "gpu" in gpus["capabilities"]
    assert "/health" in " ".join(reranker["healthcheck"]["test"])
    app = settings_of("app", monkeypatch, active_examples=True)
    assert app.reranker_url is not None and app.reranker_api_key is not None
    url = urlsplit(app.reranker_url)
    assert (url.hostname, str(url.port)) == ("reranker", args["--port"])
    assert (app.reranker_model, app.reranker_api_key.get_secret_value()) == (args["--served-model-name"],
                                                                             args["--api-key"])
    assert app.reranker_model_path is None  # build_reranker refuses both
    assert settings_of("app", monkeypatch).reranker_url is None  # the default stack: no re-ranking


def test_only_real_settings_are_named() -> None:
    """In compose.yaml (app, indexer), .env.example, the Dockerfile and docs/deploy.md."""
    fields = set(Settings.model_fields)
    services = raw()["services"]
    names = {n for s in ("app", "indexer") for n in (services[s].get("environment") or {})}
    names |= {n for n in (*env_example()[0], *env_example()[1]) if n.startswith("MEDEVIDENCE_")}
    names |= set(dockerfile_env()) | set(re.findall(r"MEDEVIDENCE_[A-Z0-9_]+", DEPLOY_DOC.read_text()))
    ours = {n for n in names if n.startswith("MEDEVIDENCE_")}
    unknown = {n for n in ours if n.removeprefix("MEDEVIDENCE_").lower() not in fields}
    assert not unknown, f"not settings in app/config.py: {sorted(unknown)}"


def test_never_dev_mode() -> None:
    compose = raw()
    for name, service in compose["services"].items():
        assert "MEDEVIDENCE_DEV_MODE" not in (service.get("environment") or {}), name
        assert "env_file" not in service, f"{name}: env_file could smuggle in MEDEVIDENCE_DEV_MODE"
    assert "MEDEVIDENCE_DEV_MODE" not in DOCKERFILE.read_text() + ENV_EXAMPLE.read_text()
    serve = compose["services"]["app"]["command"]
    assert not _is_loopback(serve[serve.index("--host") + 1])  # `serve` refuses dev mode off loopback anyway


def test_the_app_as_compose_starts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    compose, env = model(), environment(False)
    services = compose["services"]
    app = settings_of("app", monkeypatch)
    assert not app.dev_mode and app.llm_url is None  # without the gpu profile: the extractive answerer
    assert app.index_name() == settings_of("indexer", monkeypatch).index_name()
    for setting, service in (("qdrant_url", "qdrant"), ("neo4j_uri", "neo4j"), ("traces_url", "postgres")):
        assert urlsplit(str(getattr(app, setting))).hostname == service, setting
    assert "medevidence-data:/data" in services["app"]["volumes"] and str(app.data_dir) == "/data"
    assert services["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"] == app.qdrant_api_key
    assert services["neo4j"]["environment"]["NEO4J_AUTH"] == f"{app.neo4j_user}/{app.neo4j_password}"
    assert urlsplit(str(app.traces_url)).password == services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert app.qdrant_api_key == app.neo4j_password == SECRET and env["POSTGRES_PASSWORD"] == SECRET
    configured = settings_of("app", monkeypatch, active_examples=True)  # JSON-valued examples parse
    assert configured.cds_jwt_issuers and configured.smart_issuers and configured.public_base_url


def dockerfile_env() -> dict[str, str]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    pairs = [p for line in text.splitlines() if line.startswith("ENV ") for p in shlex.split(line[4:])]
    return dict(p.split("=", 1) for p in pairs)


def test_dockerfile() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch = next(d for d in dependencies if d.startswith("torch"))
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text and text.count("FROM ${PYTHON_IMAGE}") == 2
    assert f"pip install {torch} --index-url https://download.pytorch.org/whl/cpu" in text
    assert re.search(r"^RUN pip install \. ", text, re.M) and re.search(r"^USER medevidence$", text, re.M)
    assert dockerfile_env()["MEDEVIDENCE_DATA_DIR"] == "/data" and 'VOLUME ["/data"]' in text
    assert dockerfile_env()["MEDEVIDENCE_KNOWLEDGE_DIR"] == "/opt/medevidence/knowledge"
    assert "COPY knowledge /opt/medevidence/knowledge" in text and "EXPOSE 8000" in text
    assert re.search(r"HEALTHCHECK .*\n.*127\.0\.0\.1:8000/readyz", text)
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", "data", ".git"} <= ignored
    assert not ignored & {"app", "indexers", "knowledge", "pyproject.toml", "README.md"}
