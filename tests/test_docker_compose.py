"""docker-compose.yml, Dockerfile, .env.example and .dockerignore keep the invariants a working deployment needs.

Docker does not run here, so `docker compose config` cannot check the file: these tests parse it with PyYAML
(safe_load resolves the `&anchor` / `<<: *anchor` merges the way compose does) and never call the docker CLI.
Each rule is a function returning problems as "<service>: <what is wrong>"; the negative tests at the end break
one rule in a copy of the files under tmp_path and prove the rule notices.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("docker-compose.yml", "Dockerfile", ".env.example", ".dockerignore", "requirements.txt")

COMMON = "x-airflow-common"
# Built from the x-airflow-common anchor; all but airflow-init run for ever.
AIRFLOW_SERVICES = (
    "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker", "airflow-triggerer",
    "airflow-init",
)
ONE_SHOT = frozenset({"airflow-init"})
APISERVER, WORKER, INIT = "airflow-apiserver", "airflow-worker", "airflow-init"

JWT = "AIRFLOW__API_AUTH__JWT_SECRET"
EXECUTION_API = "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"
METADATA_DB = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
RESULT_BACKEND = "AIRFLOW__CELERY__RESULT_BACKEND"
BROKER = "AIRFLOW__CELERY__BROKER_URL"
ACCOUNTING_CONN = "AIRFLOW_CONN_SHOPSYNC_ACCOUNTING"
# Must be in the anchor's environment, hence identical in every Airflow service.
SHARED_KEYS = (
    "AIRFLOW__CORE__EXECUTOR", METADATA_DB, RESULT_BACKEND, BROKER, JWT, EXECUTION_API,
    "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__CORE__LOAD_EXAMPLES", "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION",
    ACCOUNTING_CONN,
)
EXPECTED_VALUES = {
    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
    BROKER: "redis://:@redis:6379/0",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "true",
    "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "true",
}
HEALTHCHECK_MUST_CONTAIN = {
    APISERVER: "/api/v2/monitor/health",
    "airflow-scheduler": "localhost:8974/health",
    "airflow-dag-processor": "--job-type DagProcessorJob",
    "airflow-triggerer": "--job-type TriggererJob",
    WORKER: "inspect ping",
}

SECRET_KEY = re.compile(r"PASSWORD|SECRET|FERNET|_CONN|DB_URL|TOKEN|PRIVATE_KEY", re.IGNORECASE)
NOT_SECRET_KEY = re.compile(r"_(FILE|PATH|DIR)$")  # where a secret is kept, e.g. ..._PASSWORDS_FILE
# Secrets a compose variable may default to when .env leaves them unset. Deliberately empty: every secret,
# even the metadata database's local-only password, comes from .env and `${VAR:?}` makes it required.
# (An empty default, `${AIRFLOW_CONN_SHOP_FTP:-}`, is not a secret and is allowed.)
ALLOWED_SECRET_DEFAULTS: frozenset[str] = frozenset()
PLACEHOLDER = "change-me"

REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")
BARE_REF = re.compile(r"\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)")
URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[^:@/]*):(?P<password>[^@/]*)@")


# --------------------------------------------------------------------------------------------- loading


@dataclass
class Project:
    root: Path
    compose: dict[str, Any]
    env_example: dict[str, str]
    dockerfile: str
    requirements: str
    dockerignore: list[str]

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        return self.compose.get("services") or {}

    @property
    def common(self) -> dict[str, Any]:
        return self.compose.get(COMMON) or {}

    def airflow_services(self) -> dict[str, dict[str, Any]]:
        """The anchor's services, plus any other service running the Airflow image (flower, airflow-cli)."""
        image = self.common.get("image")
        return {
            name: service for name, service in self.services.items()
            if name in AIRFLOW_SERVICES or name.startswith("airflow-") or (image and service.get("image") == image)
        }

    def long_running(self) -> dict[str, dict[str, Any]]:
        return {name: service for name, service in self.services.items() if name not in ONE_SHOT}


def parse_env_file(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def load_project(root: Path) -> Project:
    compose = yaml.safe_load((root / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(compose, dict), "docker-compose.yml: expected a mapping at the top level"
    ignore = [line.strip() for line in (root / ".dockerignore").read_text(encoding="utf-8").splitlines()]
    return Project(
        root=root,
        compose=compose,
        env_example=parse_env_file((root / ".env.example").read_text(encoding="utf-8")),
        dockerfile=(root / "Dockerfile").read_text(encoding="utf-8"),
        requirements=(root / "requirements.txt").read_text(encoding="utf-8"),
        dockerignore=[line for line in ignore if line and not line.startswith("#")],
    )


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as strings, from either the mapping or the list form."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    return {key: "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in raw.items()}


def volumes(service: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(source, target) of each volume; source None for an anonymous volume."""
    result = []
    for item in service.get("volumes") or []:
        if isinstance(item, dict):
            result.append((item.get("source"), item["target"]))
        else:
            # ${VAR:-default} holds a colon: read the reference as its default (or $VAR) before splitting.
            plain = REF.sub(lambda m: m["arg"] if m["op"] in ("-", ":-") else f"${m['name']}", str(item))
            parts = plain.split(":")
            result.append((parts[0], parts[1]) if len(parts) > 1 else (None, parts[0]))
    return result


def healthcheck_text(service: dict[str, Any]) -> str:
    test = (service.get("healthcheck") or {}).get("test")
    return " ".join(test) if isinstance(test, list) else str(test or "")


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def referenced_variables(text: str) -> set[str]:
    """Variables compose interpolates in `text`: ${VAR...} and $VAR, not the escaped $$."""
    text = text.replace("$$", "")
    return {m["name"] for m in REF.finditer(text)} | {m["name"] for m in BARE_REF.finditer(text)}


def is_required_reference(value: str) -> bool:
    """The whole value is one `${VAR:?message}` / `${VAR?message}` reference."""
    match = REF.fullmatch(value)
    return bool(match) and match["op"] in (":?", "?")


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def dockerfile_env(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in dockerfile_instructions(text):
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = REF.sub(lambda m: env.get(m["name"], ""), value)
    return env


def dockerfile_copies(text: str) -> list[tuple[list[str], str]]:
    env = dockerfile_env(text)
    copies = []
    for word, rest in dockerfile_instructions(text):
        if word == "COPY":
            args = [REF.sub(lambda m: env.get(m["name"], ""), arg) for arg in shlex.split(rest)]
            args = [arg for arg in args if not arg.startswith("--")]
            copies.append((args[:-1], args[-1]))
    return copies


def pinned_airflow(requirements: str) -> str | None:
    match = re.search(r"^apache-airflow==(\S+)\s*$", requirements, re.MULTILINE)
    return match[1] if match else None


# ----------------------------------------------------------------------------------------------- rules


def check_services_exist(p: Project) -> list[str]:
    problems = [f"{name}: service missing" for name in (*AIRFLOW_SERVICES, "postgres", "redis")
                if name not in p.services]
    if "airflow-dag-processor" not in p.services:
        problems.append("airflow-dag-processor: without a dag-processor no DAG ever appears")
    commands = {"airflow-apiserver": "api-server", "airflow-dag-processor": "dag-processor",
                "airflow-scheduler": "scheduler", "airflow-triggerer": "triggerer", WORKER: "celery worker"}
    for name, command in commands.items():
        if name in p.services and p.services[name].get("command") != command:
            problems.append(f"{name}: command must be {command!r}, is {p.services[name].get('command')!r}")
    return problems


def check_same_image_and_build(p: Project) -> list[str]:
    image, build = p.common.get("image"), p.common.get("build")
    problems = []
    if not image or not build:
        problems.append(f"{COMMON}: needs both `build` (our Dockerfile) and `image` (the tag it produces)")
    context = build.get("context", ".") if isinstance(build, dict) else build
    if context and not (p.root / context / "Dockerfile").is_file():
        problems.append(f"{COMMON}: build context {context!r} has no Dockerfile")
    for name, service in p.airflow_services().items():
        if service.get("image") != image:
            problems.append(f"{name}: image {service.get('image')!r} differs from {COMMON}'s {image!r}")
        if service.get("build") != build:
            problems.append(f"{name}: build {service.get('build')!r} differs from {COMMON}'s {build!r}")
    return problems


def check_shared_environment(p: Project) -> list[str]:
    common = environment(p.common)
    problems = [f"{COMMON}: environment lacks {key}" for key in SHARED_KEYS if key not in common]
    for name, service in p.airflow_services().items():
        env = environment(service)
        for key, value in common.items():
            if key not in env:
                problems.append(f"{name}: {key} missing (every Airflow service needs {COMMON}'s value)")
            elif env[key] != value:
                problems.append(f"{name}: {key} is {env[key]!r}, {COMMON} has {value!r}")
        extra_conns = sorted(key for key in env if key.startswith("AIRFLOW_CONN_") and key not in common)
        if extra_conns:
            problems.append(f"{name}: connections {', '.join(extra_conns)} not in {COMMON} (other services lack them)")
    return problems


def check_environment_values(p: Project) -> list[str]:
    env = environment(p.common)
    problems = [f"{COMMON}: {key} must be {expected!r}, is {env.get(key)!r}"
                for key, expected in EXPECTED_VALUES.items() if env.get(key, "").lower() != expected.lower()]
    if not is_required_reference(env.get(JWT, "")):
        problems.append(f"{COMMON}: {JWT} must be one required reference `${{VAR:?message}}` from .env, "
                        f"is {env.get(JWT)!r}")
    # The execution API URL names the api-server service and the port it listens on in the container.
    url = urlsplit(env.get(EXECUTION_API, ""))
    apiserver = p.services.get(url.hostname or "", {})
    if apiserver.get("command") != "api-server":
        problems.append(f"{COMMON}: {EXECUTION_API} host {url.hostname!r} is not the api-server service")
    container_ports = {str(port).rsplit(":", 1)[-1] for port in apiserver.get("ports") or []}
    if str(url.port) not in container_ports or url.path != "/execution/" or url.scheme != "http":
        problems.append(f"{COMMON}: {EXECUTION_API} must be http://<api-server>:<its port>/execution/, "
                        f"is {env.get(EXECUTION_API)!r} (ports {sorted(container_ports)})")
    for key, service_name in ((METADATA_DB, "postgres"), (RESULT_BACKEND, "postgres"), (BROKER, "redis")):
        host = urlsplit(REF.sub("x", env.get(key, ""))).hostname
        if host != service_name or host not in p.services:
            problems.append(f"{COMMON}: {key} must point at the {service_name!r} service, points at {host!r}")
    return problems


def check_healthchecks(p: Project) -> list[str]:
    problems = []
    for name, service in p.long_running().items():
        check = service.get("healthcheck") or {}
        test = check.get("test")
        if not test or check.get("disable") or test in (["NONE"], "NONE"):
            problems.append(f"{name}: long-running service without a healthcheck test")
    for name, needle in HEALTHCHECK_MUST_CONTAIN.items():
        if name in p.services and needle not in healthcheck_text(p.services[name]):
            problems.append(f"{name}: healthcheck must use {needle!r}, is {healthcheck_text(p.services[name])!r}")
    return problems


def check_restart(p: Project) -> list[str]:
    return [f"{name}: long-running service needs `restart: always`, has {service.get('restart')!r}"
            for name, service in p.long_running().items() if service.get("restart") != "always"]


def check_depends_on(p: Project) -> list[str]:
    problems = []
    for name, service in p.services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {target: {"condition": "service_started"} for target in depends}
        for target, rule in depends.items():
            condition = (rule or {}).get("condition")
            if target not in p.services:
                problems.append(f"{name}: depends on {target!r}, which is not a service")
            elif condition == "service_healthy" and not (p.services[target].get("healthcheck") or {}).get("test"):
                problems.append(f"{name}: waits for {target} to be healthy, but {target} has no healthcheck")
        if name in p.airflow_services():
            for db in ("postgres", "redis"):
                if (depends.get(db) or {}).get("condition") != "service_healthy":
                    problems.append(f"{name}: must depend on {db} with condition service_healthy")
            if name not in ONE_SHOT and (depends.get(INIT) or {}).get("condition") != "service_completed_successfully":
                problems.append(f"{name}: must depend on {INIT} with condition service_completed_successfully")
    return problems


def check_worker_scales(p: Project) -> list[str]:
    worker = p.services.get(WORKER, {})
    rules = {"container_name": "a container_name", "hostname": "a fixed hostname (Celery node names collide)",
             "ports": "published host ports"}
    return [f"{WORKER}: has {what}; `docker compose up --scale {WORKER}=N` needs none"
            for key, what in rules.items() if worker.get(key)]


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(key)) and not NOT_SECRET_KEY.search(key)


def _secret_problems(where: str, key: str, value: str) -> list[str]:
    problems = []
    for match in REF.finditer(value):
        if match["op"] in ("-", ":-") and match["arg"] and is_secret_key(key) \
                and match["name"] not in ALLOWED_SECRET_DEFAULTS:
            problems.append(f"{where}: {key} gives a secret default value to ${{{match['name']}}}")
    url = URL_PASSWORD.match(value)
    if url and url["password"] and not REF.fullmatch(url["password"]):
        problems.append(f"{where}: {key} has a literal password in its URL (use a ${{VAR}} from .env)")
    elif is_secret_key(key) and not url and value and not REF.fullmatch(value):
        problems.append(f"{where}: {key} is a literal value, not a ${{VAR}} reference to .env")
    return problems


def check_no_literal_secrets(p: Project) -> list[str]:
    problems = []
    for where, service in ((COMMON, p.common), *p.services.items()):
        for key, value in environment(service).items():
            problems += _secret_problems(where, key, value)
    for key, value in p.env_example.items():
        if is_secret_key(key) and value and PLACEHOLDER not in value:
            problems.append(f".env.example: {key} must be a placeholder containing {PLACEHOLDER!r} or empty")
    return problems


def check_env_example_lists_variables(p: Project) -> list[str]:
    used: dict[str, str] = {}
    for where, node in ((COMMON, p.common), *p.services.items(), ("volumes", p.compose.get("volumes"))):
        for text in strings(node):
            for name in referenced_variables(text):
                used.setdefault(name, where)
    problems = [f"{where}: uses ${{{name}}}, which .env.example does not list"
                for name, where in sorted(used.items()) if name not in p.env_example]
    problems += [f".env.example: {name} is not used by docker-compose.yml"
                 for name in sorted(p.env_example) if name not in used]
    for text in strings(p.compose):
        for match in REF.finditer(text.replace("$$", "")):
            if match["op"] in (":?", "?") and not p.env_example.get(match["name"]):
                problems.append(f".env.example: required {match['name']} needs a placeholder value")
    if p.env_example.get("AIRFLOW_UID") != "50000":
        problems.append(".env.example: AIRFLOW_UID must be 50000 (the official image's airflow user)")
    return problems


def check_dockerfile(p: Project) -> list[str]:
    problems = []
    froms = [rest for word, rest in dockerfile_instructions(p.dockerfile) if word == "FROM"]
    match = re.fullmatch(r"apache/airflow:(?P<version>[\w.]+)-python(?P<python>3\.\d+)", froms[0] if froms else "")
    pinned = pinned_airflow(p.requirements)
    if not match:
        problems.append(f"Dockerfile: FROM must be the official apache/airflow:<version>-python3.X, is {froms}")
    elif match["version"] != pinned:
        problems.append(f"Dockerfile: FROM tag {match['version']} differs from apache-airflow=={pinned} "
                        "in requirements.txt")
    if '"apache-airflow==${AIRFLOW_VERSION}" -r' not in p.dockerfile:
        problems.append('Dockerfile: install requirements with pip install "apache-airflow==${AIRFLOW_VERSION}" -r')
    env = dockerfile_env(p.dockerfile)
    home = env.get("SHOPSYNC_HOME")
    if not home:
        problems.append("Dockerfile: ENV SHOPSYNC_HOME missing (shopsync finds include/ through it)")
        return problems
    copied = {dest.rstrip("/"): sources for sources, dest in dockerfile_copies(p.dockerfile)}
    for folder in ("dags", "plugins", "include"):
        baked = folder in [source.rstrip("/") for source in copied.get(f"{home}/{folder}", [])]
        mounts = [name for name, service in p.airflow_services().items()
                  if any(src and src.rstrip("/").endswith(f"/{folder}") for src, _ in volumes(service))]
        if not baked and len(mounts) != len(p.airflow_services()):
            problems.append(f"Dockerfile: {folder}/ neither copied to {home}/{folder} "
                            "nor mounted in every Airflow service")
    if env.get("AIRFLOW__CORE__DAGS_FOLDER") != f"{home}/dags":
        problems.append(f"Dockerfile: AIRFLOW__CORE__DAGS_FOLDER must be {home}/dags, "
                        f"is {env.get('AIRFLOW__CORE__DAGS_FOLDER')!r}")
    if env.get("AIRFLOW__CORE__PLUGINS_FOLDER", "").startswith(f"{home}/plugins"):
        problems.append("Dockerfile: AIRFLOW__CORE__PLUGINS_FOLDER must not be the shopsync package directory "
                        "(Airflow imports each file there as a top-level module)")
    local = env.get("SHOPSYNC_LOCAL_DIR")
    declared = set(p.compose.get("volumes") or {})
    for name, service in p.airflow_services().items():
        sources = [src for src, target in volumes(service) if target == local]
        if not sources:
            problems.append(f"{name}: SHOPSYNC_LOCAL_DIR {local} is not a volume "
                            "(snapshots and inboxes must be shared)")
        elif sources[0] not in declared and not sources[0].startswith((".", "/", "$")):
            problems.append(f"{name}: volume {sources[0]!r} for {local} is not declared under top-level volumes")
    return problems


def check_dockerignore(p: Project) -> list[str]:
    def ignored(name: str) -> bool:
        return any(fnmatch.fnmatch(name, pattern.lstrip("/").rstrip("/")) for pattern in p.dockerignore
                   if not pattern.startswith("!"))

    problems = [f".dockerignore: must exclude {name}" for name in (".env", ".git", ".venv", ".local")
                if not ignored(name)]
    problems += [f".dockerignore: excludes {name}, which the Dockerfile copies"
                 for name in ("requirements.txt", "pyproject.toml", "dags", "plugins", "include") if ignored(name)]
    return problems


CHECKS: tuple[Callable[[Project], list[str]], ...] = (
    check_services_exist, check_same_image_and_build, check_shared_environment, check_environment_values,
    check_healthchecks, check_restart, check_depends_on, check_worker_scales, check_no_literal_secrets,
    check_env_example_lists_variables, check_dockerfile, check_dockerignore,
)


def all_problems(p: Project) -> list[str]:
    return [problem for check in CHECKS for problem in check(p)]


# ----------------------------------------------------------------------------------------------- tests


@pytest.fixture
def project_dir() -> Path:
    """Where the files under test live; override to check another copy."""
    return ROOT


@pytest.fixture
def project(project_dir: Path) -> Project:
    return load_project(project_dir)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
def test_invariant(project: Project, check: Callable[[Project], list[str]]) -> None:
    problems = check(project)
    assert not problems, "\n".join(problems)


def test_env_file_is_ignored_and_example_is_not() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(name: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, check=False).returncode == 0

    assert ignored(".env"), ".gitignore: .env (the real secrets) must be ignored"
    assert not ignored(".env.example"), ".gitignore: .env.example must not be ignored (it is committed)"


def copy_project(tmp_path: Path) -> Path:
    for name in PROJECT_FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_unchanged_copy_passes(tmp_path: Path) -> None:
    """The negative tests below start from a copy that passes every rule."""
    assert all_problems(load_project(copy_project(tmp_path))) == []


WORKER_BLOCK = "  airflow-worker:\n    <<: *airflow-common\n"
SCHEDULER_BLOCK = "  airflow-scheduler:\n    <<: *airflow-common\n"
MUTATIONS = {
    "worker_container_name": (
        "docker-compose.yml", WORKER_BLOCK, WORKER_BLOCK + "    container_name: shopsync-worker\n",
        "airflow-worker: has a container_name"),
    "worker_host_port": (
        "docker-compose.yml", WORKER_BLOCK, WORKER_BLOCK + "    ports:\n      - '8793:8793'\n",
        "airflow-worker: has published host ports"),
    "scheduler_own_environment_without_jwt": (
        "docker-compose.yml", SCHEDULER_BLOCK,
        SCHEDULER_BLOCK + "    environment:\n      AIRFLOW__CORE__EXECUTOR: CeleryExecutor\n",
        f"airflow-scheduler: {JWT} missing"),
    "scheduler_other_jwt_secret": (
        "docker-compose.yml", SCHEDULER_BLOCK,
        SCHEDULER_BLOCK + "    environment:\n      <<: *airflow-common-env\n"
        "      AIRFLOW__API_AUTH__JWT_SECRET: ${SCHEDULER_JWT_SECRET:?x}\n",
        f"airflow-scheduler: {JWT} is '${{SCHEDULER_JWT_SECRET:?x}}'"),
    "literal_metadata_password": (
        "docker-compose.yml", "psycopg2://airflow:${AIRFLOW_DB_PASSWORD:?set AIRFLOW_DB_PASSWORD in .env}@",
        "psycopg2://airflow:airflow@", f"{METADATA_DB} has a literal password"),
    "secret_default": (
        "docker-compose.yml", "${ACCOUNTING_DB_PASSWORD:?set ACCOUNTING_DB_PASSWORD in .env}",
        "${ACCOUNTING_DB_PASSWORD:-shopsync}", "POSTGRES_PASSWORD gives a secret default value"),
    "variable_not_in_env_example": (
        "docker-compose.yml", "AIRFLOW__CORE__EXECUTOR: CeleryExecutor\n",
        "AIRFLOW__CORE__EXECUTOR: CeleryExecutor\n    SHOPSYNC_EXTRA: ${SHOPSYNC_UNDOCUMENTED}\n",
        "which .env.example does not list"),
    "unescaped_hostname_in_healthcheck": (
        "docker-compose.yml", '--job-type TriggererJob --hostname "$${HOSTNAME}"',
        '--job-type TriggererJob --hostname "${HOSTNAME}"', "uses ${HOSTNAME}, which .env.example does not list"),
    "no_dag_processor": (
        "docker-compose.yml", "  airflow-dag-processor:\n", "  airflow-dag-parser:\n",
        "without a dag-processor no DAG ever appears"),
    "apiserver_old_health_endpoint": (
        "docker-compose.yml", "http://localhost:8080/api/v2/monitor/health", "http://localhost:8080/api/v2/version",
        "airflow-apiserver: healthcheck must use '/api/v2/monitor/health'"),
    "triggerer_without_healthcheck": (
        "docker-compose.yml", "    command: triggerer\n    healthcheck:\n", "    command: triggerer\n    x-off:\n",
        "airflow-triggerer: long-running service without a healthcheck"),
    "execution_api_wrong_host": (
        "docker-compose.yml", "http://airflow-apiserver:8080/execution/", "http://localhost:8080/execution/",
        "is not the api-server service"),
    "dockerfile_other_airflow": (
        "Dockerfile", "FROM apache/airflow:3.3.2-python3.11", "FROM apache/airflow:3.2.0-python3.11",
        "FROM tag 3.2.0 differs from apache-airflow==3.3.2"),
    "dags_not_baked": (
        "Dockerfile", "COPY --chown=airflow:0 dags/ /opt/airflow/project/dags/\n", "",
        "dags/ neither copied"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_broken_copy_is_caught(tmp_path: Path, mutation: str) -> None:
    file, old, new, expected = MUTATIONS[mutation]
    root = copy_project(tmp_path)
    text = (root / file).read_text(encoding="utf-8")
    assert text.count(old) == 1, f"mutation {mutation}: {old!r} must occur once in {file}"
    (root / file).write_text(text.replace(old, new), encoding="utf-8")
    problems = all_problems(load_project(root))
    assert any(expected in problem for problem in problems), f"{mutation}: expected {expected!r} in {problems}"
