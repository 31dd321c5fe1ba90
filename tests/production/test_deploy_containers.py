"""The container files of deploy/docker and deploy/helm, checked the way they can be here (no
Docker, no Kubernetes on the project's machines): parsed, every reference resolved in the
repository, env names documented, no secret inline, the Helm keys present in the charts' own
values, and the web image's nginx configuration run by a real nginx in front of local servers."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web

from ops import production
from tests.conftest import ROOT, free_port
from tests.production.helm_keys import our_paths, read_keys, unknown_paths
from tests.unit.local_server import serving

DOCKER = ROOT / "deploy" / "docker"
HELM = ROOT / "deploy" / "helm"
FIXTURES = ROOT / "tests" / "fixtures" / "helm"
EXAMPLE = (ROOT / "deploy" / "gru.env.example").read_text(encoding="utf-8")
DOCUMENTED = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", EXAMPLE, re.MULTILINE))
# Variables the example marks as secrets (`SECRET` as value, or on the line / the comment above).
SECRETS = {
    name
    for block in re.split(r"\n(?=# )", EXAMPLE)
    for name in re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=(?:SECRET|CHANGE-ME)", block, re.MULTILINE)
}
SECRETS |= {"GRU_ACTION_SECRET", "GRU_LINKS_SECRET", "GRU_ALERTS_SECRET", "GRU_LOG_SALT"}
PASSWORD_IN_URL = re.compile(r"://[^/\s:@]*:[^/\s@]+@")


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yml").read_text(encoding="utf-8"))


def dockerfile_stages() -> dict:
    """{stage: [instruction lines]} of deploy/docker/Dockerfile (continuations joined)."""
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    stages: dict = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", line, re.IGNORECASE)
        if match:
            current = match.group(2)
            stages[current] = [line]
        elif current:
            stages[current].append(line)
    return stages


def python_modules(text: str) -> set:
    return set(re.findall(r"python -m ([A-Za-z_][\w.]*)", text)) | set(
        re.findall(r'"python",\s*"-m",\s*"([\w.]+)"', text)
    )


# --- compose.yml ----------------------------------------------------------------------------


def test_compose_has_the_whole_shape_with_pinned_images_and_real_builds():
    services = compose()["services"]
    assert set(services) == {
        "postgres", "redis", "prepare", "actions1", "actions2", "rasa1", "rasa2",
        "jobs", "pages", "console", "hub", "web",
    }  # fmt: skip
    stages = dockerfile_stages()
    for name, service in services.items():
        image = service.get("image", "")
        assert image and ":" in image and not image.endswith(":latest"), name
        build = service.get("build")
        if build:
            context = (DOCKER / build["context"]).resolve()
            assert context == ROOT, name
            assert (context / build["dockerfile"]).is_file(), name
            assert build["target"] in stages, name
    for name in ("rasa1", "rasa2"):
        assert services[name]["build"]["target"] == "rasa"
    assert services["web"]["build"]["target"] == "web"


def test_compose_services_have_health_checks_and_known_dependencies():
    services = compose()["services"]
    for name, service in services.items():
        check = service.get("healthcheck") or {}
        if name == "prepare":  # a one-shot task: the others wait for its completion
            assert check.get("disable") is True and service["restart"] == "no"
            continue
        assert check.get("test"), f"{name} has no health check"
        for other in service.get("depends_on") or {}:
            assert other in services, (name, other)
    assert services["rasa2"]["depends_on"] == {"rasa1": {"condition": "service_healthy"}}
    for name in ("actions1", "rasa1", "jobs", "pages", "console", "hub"):
        assert services[name]["depends_on"]["prepare"]["condition"] == "service_completed_successfully"
    # The ANTS hub runs only when asked (it refuses to start without GRU_HUB_TOKEN), and nginx
    # does not wait for it (it resolves the hub's name per request).
    assert services["hub"]["profiles"] == ["ants-hub"] and "hub" not in services["web"]["depends_on"]


def test_compose_env_names_are_documented_and_no_secret_is_inline():
    raw = (DOCKER / "compose.yml").read_text(encoding="utf-8")
    interpolated = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", raw))
    assert interpolated and interpolated <= DOCUMENTED, interpolated - DOCUMENTED
    for name, service in compose()["services"].items():
        environment = service.get("environment") or {}
        ours = bool(service.get("build"))
        for key, value in environment.items():
            if ours:
                assert key in DOCUMENTED, f"{name}: {key} is not in deploy/gru.env.example"
            assert key not in SECRETS, f"{name}: secret {key} inline"
            assert not PASSWORD_IN_URL.search(str(value)), f"{name}: a password in {key}"
            if re.search(r"PASSWORD|TOKEN|SECRET|_KEY$", key):
                assert key.endswith("_FILE"), f"{name}: {key} must come from a file"
        if ours and service["build"]["target"] != "web":  # nginx needs none of gru.env's secrets
            assert service["env_file"] == ["gru.env"], name
    # What the operator provides stays out of git.
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8")
    for path in ("deploy/docker/gru.env", "deploy/docker/secrets/", "deploy/docker/certs/"):
        assert path in ignored
    for secret in compose()["secrets"].values():
        assert secret["file"].startswith("./secrets/")


def test_compose_mounts_exist_or_are_the_operator_s():
    for name, service in compose()["services"].items():
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0]
            if not source.startswith("."):
                assert source in compose()["volumes"], (name, source)
                continue
            path = (DOCKER / source).resolve()
            if path.name in ("certs", "models"):  # the certificate, the trained model: the operator's
                continue
            assert path.is_file(), (name, source)


def test_compose_commands_start_modules_that_exist():
    raw = (DOCKER / "compose.yml").read_text(encoding="utf-8")
    modules = python_modules(raw)
    assert {"ops.action_server", "ops.production", "portal", "handoff.console", "booking.seed"} <= modules
    assert "booking.hub" in modules
    for module in modules:
        assert importlib.util.find_spec(module) is not None, module


# --- Dockerfile -----------------------------------------------------------------------------


def test_dockerfile_copies_only_what_exists_and_is_not_ignored():
    ignored = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]  # fmt: skip
    copies = 0
    for stage, lines in dockerfile_stages().items():
        for line in lines:
            if not line.startswith("COPY ") or "--from=" in line:
                continue
            parts = [p for p in shlex.split(line)[1:] if not p.startswith("--")]
            for source in parts[:-1]:
                copies += 1
                assert (ROOT / source).exists(), (stage, source)
                top = source.split("/")[0]
                assert top not in ignored and source not in ignored, (stage, source)
    assert copies > 15
    for name in (".venv", "var", "models", ".git", "deploy/docker/secrets", "deploy/docker/gru.env"):
        assert name in ignored


def test_dockerfile_stages_run_real_modules_as_a_user_with_health_checks():
    stages = dockerfile_stages()
    assert {"bundles", "base", "actions", "rasa", "static-pages", "web"} <= set(stages)
    for lines in stages.values():
        image = lines[0].split()[1]
        assert image in stages or (":" in image and not image.endswith(":latest")), image
    assert stages["base"][0].startswith("FROM python:3.10-slim")
    user = [line for line in stages["base"] if line.startswith("USER ")]
    assert user == ["USER gru"]
    for stage in ("actions", "rasa", "web"):
        assert any(line.startswith("HEALTHCHECK") for line in stages[stage]), stage
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    modules = python_modules(text)
    assert {"ops.action_server", "ops.servers", "ops.render", "ops.healthcheck", "ops.web"} <= modules
    for module in modules:
        assert importlib.util.find_spec(module) is not None, module
    # The shell lines run by the images parse (sh -n), variables included.
    for line in text.replace("\\\n", " ").splitlines():
        if line.startswith(("CMD [", "ENTRYPOINT [")):
            argv = json.loads(line.split(None, 1)[1])
            if argv[:2] == ["sh", "-c"]:
                assert subprocess.run(["sh", "-n", "-c", argv[2]], capture_output=True).returncode == 0


# --- the web image's nginx, run for real -----------------------------------------------------


@pytest.fixture
async def web_nginx(tmp_path):
    if not os.path.exists(production.NGINX):
        pytest.fail("nginx is missing: run `make nginx` (Debian's package) first")
    hits: dict = {"rasa1": [], "rasa2": [], "pages": [], "hub": []}

    def answering(name):
        async def handler(request):
            hits[name].append(request.path)
            return web.Response(text=name)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        return app

    async def hub_handler(request):  # what the hub receives: its own path, the query, the token
        hits["hub"].append((request.path_qs, request.headers.get("X-HUB-RDV-AUTH-TOKEN")))
        return web.json_response({})

    hub = web.Application()
    hub.router.add_get("/{tail:.*}", hub_handler)

    key, cert = tmp_path / "privkey.pem", tmp_path / "fullchain.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    html = tmp_path / "html"
    (html / "pages").mkdir(parents=True)
    (html / "index.html").write_text("<html lang=fr>démo</html>", encoding="utf-8")
    (html / "widget.js").write_text("/* widget */", encoding="utf-8")
    (html / "pages" / "confidentialite.html").write_text("confidentialité", encoding="utf-8")
    async with serving(answering("rasa1")) as rasa1, serving(answering("rasa2")) as rasa2:
        async with serving(answering("pages")) as pages, serving(hub) as hub_url:
            http_port, https_port, actions_port = free_port(), free_port(), free_port()
            conf = (DOCKER / "nginx" / "default.conf.template").read_text(encoding="utf-8")
            # What the image's envsubst and Docker's DNS do, with this machine's addresses.
            conf = conf.replace("${GRU_PUBLIC_URL}", "https://assistant.example.fr")
            hosts = (
                ("rasa1:5005", rasa1),
                ("rasa2:5005", rasa2),
                ("pages:5200", pages),
                ("hub:5100", hub_url),
            )
            for host, url in hosts:
                conf = conf.replace(host, url.removeprefix("http://"))
            for host in ("actions1:5055", "actions2:5055"):
                conf = conf.replace(host, f"127.0.0.1:{free_port()}")
            conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{http_port};")
            conf = conf.replace("listen 8443 ssl", f"listen 127.0.0.1:{https_port} ssl")
            conf = conf.replace("listen 5054;", f"listen 127.0.0.1:{actions_port};")
            conf = conf.replace("/etc/nginx/certs", str(tmp_path)).replace("/usr/share/nginx/html", str(html))
            conf = conf.replace("/var/log/nginx/access.log", str(tmp_path / "access.log"))
            assert "${" not in conf
            (tmp_path / "default.conf").write_text(conf, encoding="utf-8")
            tmp_path.chmod(0o755)
            user = "user root;\n" if os.geteuid() == 0 else ""  # workers read the pytest folders (0700)
            (tmp_path / "nginx.conf").write_text(
                f"{user}pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                f"http {{ include /etc/nginx/mime.types; client_body_temp_path {tmp_path}/body;"
                f" proxy_temp_path {tmp_path}/proxy; include {tmp_path}/default.conf; }}\n",
                encoding="utf-8",
            )
            command = [production.NGINX, "-p", str(tmp_path), "-e", str(tmp_path / "error.log")]
            command += ["-c", str(tmp_path / "nginx.conf")]
            started = subprocess.run(command, capture_output=True, text=True)
            assert started.returncode == 0, started.stderr
            try:
                async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
                    for _ in range(50):
                        try:
                            async with session.get(f"http://127.0.0.1:{http_port}/nginx-health"):
                                break
                        except aiohttp.ClientConnectionError:
                            await asyncio.sleep(0.1)
                    yield session, f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", hits
            finally:
                production._stop_nginx(tmp_path)


async def test_web_nginx_routes_channels_pages_and_widget_and_refuses_the_rest(web_nginx):
    session, url, plain, hits = web_nginx
    async with session.get(f"{plain}/nginx-health") as resp:
        assert resp.status == 200
    async with session.get(f"{plain}/webhooks/rest/", allow_redirects=False) as resp:
        assert resp.status == 301 and resp.headers["Location"].startswith("https://")
    for path in ("/webhooks/metrics/", "/metrics", "/WEBHOOKS/METRICS"):
        async with session.get(url + path) as resp:
            assert resp.status == 403, path
    for path in ("/conversations/abc/tracker", "/model", "/status"):  # Rasa's API: not published
        async with session.get(url + path) as resp:
            assert resp.status == 404, path
    async with session.get(f"{url}/rendez-vous/nouveau") as resp:
        assert resp.status == 200 and await resp.text() == "pages"
    async with session.get(f"{url}/config.js") as resp:
        assert "https://assistant.example.fr" in await resp.text()
        assert resp.headers["X-Frame-Options"] == "DENY"
    async with session.get(f"{url}/confidentialite") as resp:
        assert resp.status == 200 and "confidentialité" in await resp.text()
    async with session.get(f"{url}/") as resp:
        assert "démo" in await resp.text()
    assert not [p for p in hits["rasa1"] + hits["rasa2"] if "metrics" in p or p.startswith("/conversations")]


async def test_web_nginx_publishes_the_ants_hub_under_ants(web_nginx):
    session, url, _, hits = web_nginx
    token = {"X-HUB-RDV-AUTH-TOKEN": "jeton"}
    query = "meeting_point_ids=a&meeting_point_ids=b&start_date=2026-12-01&end_date=2026-12-08"
    async with session.get(f"{url}/ants/availableTimeSlots?{query}", headers=token) as resp:
        assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    async with session.get(f"{url}/ants//getManagedMeetingPoints", headers=token) as resp:  # URL ending in /
        assert resp.status == 200
    async with session.post(f"{url}/ants/getManagedMeetingPoints", headers=token) as resp:
        assert resp.status == 403  # GET only
    assert hits["hub"] == [(f"/availableTimeSlots?{query}", "jeton"), ("/getManagedMeetingPoints", "jeton")]
    assert not hits["rasa1"] + hits["rasa2"]


async def test_web_nginx_keeps_socketio_on_one_replica_and_spreads_rest(web_nginx):
    session, url, _, hits = web_nginx
    for _ in range(8):
        async with session.get(f"{url}/socket.io/?EIO=4&transport=polling") as resp:
            assert resp.status == 200
    assert sorted(len(hits[name]) for name in ("rasa1", "rasa2")) == [0, 8]  # one client, one replica
    for name in ("rasa1", "rasa2"):
        hits[name].clear()
    for _ in range(8):
        async with session.post(f"{url}/webhooks/rest/webhook", json={}) as resp:
            assert resp.status == 200
    assert len(hits["rasa1"]) == len(hits["rasa2"]) == 4  # round robin


# --- Helm values ------------------------------------------------------------------------------

CHARTS = {
    "rasa.values.yaml": "rasa-1.17.8.keys",
    "actions.values.yaml": "rasa-action-server-1.0.9.keys",
    "pages.values.yaml": "rasa-action-server-1.0.9.keys",
    "hub.values.yaml": "rasa-action-server-1.0.9.keys",
    "console.values.yaml": "rasa-action-server-1.0.9.keys",
    "postgresql.values.yaml": "bitnami-postgresql-17.1.0.keys",
    "redis.values.yaml": "bitnami-redis-23.1.1.keys",
}


def helm_values(name: str) -> dict:
    return yaml.safe_load((HELM / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("values_file", sorted(CHARTS))
def test_helm_values_use_only_keys_of_the_chart(values_file):
    fixture = (FIXTURES / CHARTS[values_file]).read_text(encoding="utf-8")
    assert "Source: https://github.com/" in fixture  # where the keys were read
    keys = read_keys(fixture)
    assert unknown_paths(helm_values(values_file), keys) == []


def test_the_key_check_catches_a_misspelt_key():
    keys = read_keys((FIXTURES / CHARTS["rasa.values.yaml"]).read_text(encoding="utf-8"))
    assert unknown_paths(
        {"replicaCont": 2, "ingress": {"hostnam": "x", "annotations": {"a/b": "1"}}}, keys
    ) == [
        "replicaCont",
        "ingress.hostnam",
    ]


def test_helm_values_hold_no_secret_and_start_real_modules():
    texts = [(HELM / name).read_text(encoding="utf-8") for name in [*CHARTS, "jobs.yaml"]]
    for name, text in zip([*CHARTS, "jobs.yaml"], texts, strict=True):
        values = list(yaml.safe_load_all(text))
        assert values and all(isinstance(v, dict) for v in values), name
        for document in values:
            assert not PASSWORD_IN_URL.search(json.dumps(document)), name  # comments may show placeholders
            for path in our_paths(document):
                leaf = path.rsplit(".", 1)[-1].lower()
                if leaf in ("password", "postgrespassword", "token", "secret"):
                    raise AssertionError(f"{name}: {path} holds a secret inline")
        for module in python_modules(text):
            assert importlib.util.find_spec(module) is not None, (name, module)
    assert python_modules("\n".join(texts)) >= {
        "ops.envfile",
        "ops.render",
        "ops.servers",
        "ops.action_server",
    }


def test_helm_ingress_publishes_channels_sticky_by_address_and_never_the_metrics():
    ingress = helm_values("rasa.values.yaml")["ingress"]
    paths = [ingress["path"]] + [entry["path"] for entry in ingress["extraPaths"]]
    assert "/socket.io" in paths and "/webhooks/rest/" in paths and "/rendez-vous" in paths
    assert not [p for p in paths if "metrics" in p or p in ("/", "/webhooks", "/webhooks/")]
    assert ingress["annotations"]["nginx.ingress.kubernetes.io/upstream-hash-by"] == "$remote_addr"
    assert ingress["tls"][0]["hosts"] == [ingress["hostname"]]
    rasa = helm_values("rasa.values.yaml")
    assert rasa["replicaCount"] == 2 and helm_values("actions.values.yaml")["replicaCount"] == 2
    assert rasa["podAnnotations"]["prometheus.io/path"] == "/webhooks/metrics/"


def test_helm_publishes_the_ants_hub_under_ants_with_the_hub_s_own_paths():
    hub = helm_values("hub.values.yaml")
    assert hub["args"] == ["python", "-m", "booking.hub"] and hub["applicationSettings"]["port"] == 5100
    ingress = hub["ingress"]
    annotations = ingress["annotations"]
    # ingress-nginx's rewrite: the second group of the path is what the hub receives.
    path = re.compile(ingress["path"])
    for asked, received in (("/ants/availableTimeSlots", "/availableTimeSlots"), ("/ants", "/")):
        match = path.fullmatch(asked)
        assert (
            match
            and annotations["nginx.ingress.kubernetes.io/rewrite-target"].replace("$2", match.group(2))
            == received
        ), asked
    assert annotations["nginx.ingress.kubernetes.io/use-regex"] == "true"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) < 15  # ANTS's wait for slots
    assert ingress["hostname"] == helm_values("rasa.values.yaml")["ingress"]["hostname"]


def test_helm_shell_line_parses():
    line = helm_values("rasa.values.yaml")["args"]
    assert line[:2] == ["sh", "-c"]
    assert subprocess.run(["sh", "-n", "-c", line[2]], capture_output=True).returncode == 0


def test_deploy_files_say_they_were_not_run_here():
    for path in [DOCKER / "Dockerfile", DOCKER / "compose.yml", *sorted(HELM.glob("*.yaml"))]:
        assert "NOT " in Path(path).read_text(encoding="utf-8"), path


# --- Prometheus examples ----------------------------------------------------------------------


def exposed_names() -> set:
    """Every sample name the Rasa process and the action server expose."""
    from prometheus_client.parser import text_string_to_metric_families

    from channels.metrics import exposition
    from ops.action_server import ActionMetrics

    text = exposition().decode() + ActionMetrics(["action_example"]).exposition().decode()
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


def test_prometheus_examples_use_metrics_the_processes_expose():
    prometheus = ROOT / "deploy" / "prometheus"
    config = yaml.safe_load((prometheus / "prometheus.yml").read_text(encoding="utf-8"))
    for rule_file in config["rule_files"]:
        assert (prometheus / rule_file).is_file()
    paths = {job["job_name"]: job["metrics_path"] for job in config["scrape_configs"]}
    assert paths == {"gru-rasa": "/webhooks/metrics/", "gru-actions": "/metrics"}
    rules = yaml.safe_load((prometheus / "alerts.yml").read_text(encoding="utf-8"))
    exposed = exposed_names()
    used = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"].startswith("Gru") and rule["annotations"]["summary"]
            used |= set(re.findall(r"\b((?:gru|process)_[a-z_]+)", rule["expr"]))
    assert used >= {"gru_turn_errors_total", "gru_turn_seconds_count", "gru_turn_seconds_bucket"}
    assert used >= {"gru_action_errors_total", "process_resident_memory_bytes"}
    assert used <= exposed, used - exposed
