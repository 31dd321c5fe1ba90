"""The deployment files of deploy/: complete, well-formed, accepted by nginx. No Rasa started."""

from __future__ import annotations

import configparser
import importlib.util
import os
import re
import subprocess

import pytest

from booking import hub
from ops import production
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
CODE_DIRS = ("actions", "alerts", "booking", "channels", "core", "events", "ops", "reports", "tracking")
CODE_DIRS += ("transport", "waste", "welfare")


def variables_read_by_the_code() -> set:
    found = set()
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(re.findall(r"\bGRU_[A-Z0-9]+(?:_[A-Z0-9]+)*\b", path.read_text(encoding="utf-8")))
    # Not configuration: a prefix in a docstring, the widget's JS object, the benchmarks' test hosts.
    return {n for n in found if not n.endswith("_") and n != "GRU_WIDGET" and not n.startswith("GRU_TEST_")}


def test_the_env_example_documents_every_variable_the_code_reads():
    example = (DEPLOY / "gru.env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*(GRU_[A-Z0-9_]+)[=:]", example, re.MULTILINE))
    assert variables_read_by_the_code() - documented == set()
    assert "GRU_TRACKER_STORE_URL=postgresql://" in example and "GRU_LOCK_STORE_URL=redis://" in example


@pytest.mark.parametrize("unit", sorted(p.name for p in (DEPLOY / "systemd").iterdir()))
def test_systemd_units_are_well_formed_and_start_modules_that_exist(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8").replace("\\\n", " ")
    parser.read_string(text)
    assert parser.has_section("Unit") and parser.get("Unit", "Description").strip()
    if unit.endswith(".target"):
        return
    assert parser.get("Service", "User") == "gru" and parser.get("Service", "UMask") == "0077"
    assert parser.get("Service", "EnvironmentFile") == "/etc/gru/gru.env"
    command = parser.get("Service", "ExecStart")
    module = re.search(r"python -m ([\w.]+)", command).group(1)
    assert importlib.util.find_spec(module) is not None, module


def _block(site: str, start: str) -> str:
    """The text of the nginx block that opens with `start` (up to its closing brace)."""
    text = site[site.index(start) :]
    depth = 0
    for position, character in enumerate(text):  # the brace that closes it, past nested blocks
        depth += {"{": 1, "}": -1}.get(character, 0)
        if character == "}" and depth == 0:
            return text[:position]
    raise AssertionError(f"{start} is never closed")


@pytest.mark.parametrize("tls", [True, False])
def test_the_site_routes_the_appointment_pages(tmp_path, tls):
    settings = production.Settings.from_env(
        {"GRU_PROD_DIR": str(tmp_path), "GRU_PROD_PAGES_PORTS": "5200,5201"}
    )
    if tls:
        site = production.render_site(settings, "assistant.example.fr", "/c.pem", "/k.pem")
    else:
        site = production.render_local_nginx(settings)  # includes the same site file
    upstream = _block(site, "upstream gru_pages {")
    assert "server 127.0.0.1:5200 " in upstream and "server 127.0.0.1:5201 " in upstream
    location = _block(site, "location /rendez-vous {")
    assert "proxy_pass http://gru_pages;" in location
    # The pages count failed tries per client address and mark cookies Secure behind https.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in location
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in location
    assert "client_max_body_size 16k;" in location
    # An add_header of its own: the server's CSP (default-src 'none') would block the stylesheet.
    assert "add_header " in location and "Content-Security-Policy" not in location
    assert ("Strict-Transport-Security" in location) is tls
    assert site.index("location /rendez-vous {") < site.index("location / {")


@pytest.mark.parametrize("tls", [False, True])
def test_every_proxied_location_passes_the_client_address(tmp_path, tls):
    """nginx gives a location that sets any proxy_set_header none of the server's: Rasa's
    per-address limits then saw only 127.0.0.1 (Host gru_rasa, no X-Forwarded-For)."""
    settings = production.Settings.from_env({"GRU_PROD_DIR": str(tmp_path), "GRU_HUB_TOKEN": "t"})
    if tls:
        site = production.render_site(settings, "assistant.example.fr", "/c.pem", "/k.pem")
    else:
        site = production.render_local_nginx(settings)
    checked = 0
    for start in re.finditer(r"location [^{]+\{", site):
        block = _block(site, start.group(0))
        public = any(f"proxy_pass http://{name}" in block for name in ("gru_rasa", "gru_pages", "gru_hub"))
        if public and "proxy_set_header" in block:
            assert "proxy_set_header X-Forwarded-For $remote_addr;" in block, start.group(0)
            assert "proxy_set_header Host $host;" in block, start.group(0)
            checked += 1
    assert checked >= 7  # /socket.io/, /rendez-vous, /, the hub's three routes and /ants/


def _render(tmp_path, tls: bool, **env: str) -> str:
    settings = production.Settings.from_env({"GRU_PROD_DIR": str(tmp_path), **env})
    if tls:
        return production.render_site(settings, "assistant.example.fr", "/c.pem", "/k.pem")
    return production.render_local_nginx(settings)


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s)", value).groups()
    return int(number) / (1000 if unit == "ms" else 1)


@pytest.mark.parametrize("tls", [True, False])
def test_the_site_routes_the_ants_hub_under_ants(tmp_path, tls):
    site = _render(tmp_path, tls, GRU_HUB_TOKEN="jeton", GRU_PROD_HUB_PORTS="5100,5101")
    upstream = _block(site, "upstream gru_hub {")
    assert "server 127.0.0.1:5100 " in upstream and "server 127.0.0.1:5101 " in upstream
    for route, ants_wait in hub.ANTS_WAITS_S.items():
        location = _block(site, f"location = /ants{route} {{")
        assert f"proxy_pass http://gru_hub{route};" in location
        # The hub's clean 503 (after its budget) gets through; nginx's 504 comes before ANTS gives up.
        read = _milliseconds(re.search(r"proxy_read_timeout (\w+);", location).group(1))
        assert hub.BUDGET_S[route] < read < ants_wait, route
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in location
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in location
        assert "proxy_set_header Host $host;" in location
        assert "client_max_body_size 1k;" in location and "limit_except GET" in location
        assert "limit_req zone=gru_hub_per_address " in location
        assert 'add_header Cache-Control "no-store" always;' in location and "proxy_cache " not in location
        assert ("Strict-Transport-Security" in location) is tls
        assert "proxy_next_upstream error;" in location  # a slow answer is never asked twice
    assert "proxy_pass http://gru_hub/;" in _block(site, "location /ants/ {")  # /ants/health
    assert "limit_req_zone $gru_limit_key zone=gru_hub_per_address:" in site
    assert site.index("location /ants/ {") < site.index("location / {")


@pytest.mark.parametrize("tls", [True, False])
def test_without_a_hub_token_the_site_answers_404_under_ants(tmp_path, tls):
    site = _render(tmp_path, tls)
    assert "upstream gru_hub" not in site and "gru_hub" not in site.replace("gru_hub_per_address", "")
    location = _block(site, "location /ants/ {")
    assert "return 404;" in location and "proxy_pass" not in location


def test_the_nginx_site_command_publishes_the_hub_on_demand(tmp_path, monkeypatch, capsys):
    """On the server, `nginx-site` runs in the operator's shell, where gru.env is not loaded."""
    monkeypatch.delenv("GRU_HUB_TOKEN", raising=False)
    monkeypatch.setenv("GRU_PROD_DIR", str(tmp_path))
    assert production.main(["nginx-site"]) == 0
    assert "upstream gru_hub" not in capsys.readouterr().out
    assert production.main(["nginx-site", "--ants-hub"]) == 0
    assert "location = /ants/availableTimeSlots {" in capsys.readouterr().out


def test_the_docker_proxy_passes_the_client_address_to_rasa():
    conf = (DEPLOY / "docker" / "nginx" / "default.conf.template").read_text(encoding="utf-8")
    for name in ("location /socket.io/ {", "location /webhooks/ {"):
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in _block(conf, name), name


def test_the_target_starts_the_appointment_pages():
    target = (DEPLOY / "systemd" / "gru.target").read_text(encoding="utf-8")
    wanted = {name for line in target.splitlines() if line.startswith("Wants=") for name in line[6:].split()}
    services = {p.name for p in (DEPLOY / "systemd").glob("*.service") if "@" not in p.name}
    assert {"gru-pages.service", "gru-hub.service"} <= services and services <= wanted
    unit = (DEPLOY / "systemd" / "gru-pages.service").read_text(encoding="utf-8")
    assert "GRU_PAGES_HOST=127.0.0.1" in unit and "GRU_PAGES_PORT=5200" in unit


def test_the_hub_unit_runs_the_hub_on_loopback_only_when_ants_gave_a_token():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((DEPLOY / "systemd" / "gru-hub.service").read_text(encoding="utf-8"))
    service = parser["Service"]
    assert service["ExecStart"].endswith("python -m booking.hub")
    text = (DEPLOY / "systemd" / "gru-hub.service").read_text(encoding="utf-8")
    assert "Environment=GRU_HUB_HOST=127.0.0.1 GRU_HUB_PORT=5100\n" in text  # configparser keeps the last
    assert parser.get("Unit", "PartOf") == "gru.target"
    # Same hardening as the pages' unit.
    pages = configparser.ConfigParser(strict=False, interpolation=None)
    pages.optionxform = str
    pages.read_string((DEPLOY / "systemd" / "gru-pages.service").read_text(encoding="utf-8"))
    for key in ("User", "UMask", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp",
                "PrivateDevices", "RestrictAddressFamilies", "ReadWritePaths", "MemoryMax"):  # fmt: skip
        assert service[key] == pages["Service"][key], key
    # Without GRU_HUB_TOKEN in gru.env the unit is skipped, not restarted forever: its condition is
    # the shell's test on the token ($$: systemd leaves the $ to the shell, the token stays off argv).
    condition = service["ExecCondition"]
    assert condition == """/bin/sh -c 'test -n "$${GRU_HUB_TOKEN}"'"""
    script = condition.split("-c ", 1)[1].strip("'").replace("$$", "$")
    env = {"PATH": os.environ["PATH"]}
    assert subprocess.run(["/bin/sh", "-c", script], env=env).returncode == 1
    assert subprocess.run(["/bin/sh", "-c", script], env={**env, "GRU_HUB_TOKEN": "jeton"}).returncode == 0


@pytest.mark.parametrize("hub_token", ["", "jeton"])
def test_the_tls_site_passes_nginx_s_own_check(tmp_path, hub_token):
    if not os.path.exists(production.NGINX):
        pytest.fail("nginx is missing: run `make nginx` (Debian's package) first")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    settings = production.Settings.from_env({"GRU_PROD_DIR": str(tmp_path), "GRU_HUB_TOKEN": hub_token})
    site = production.render_site(settings, "assistant.example.fr", str(cert), str(key))
    assert ("upstream gru_hub {" in site) is bool(hub_token)
    assert "ssl_certificate " in site and "Strict-Transport-Security" in site
    assert "hash $remote_addr consistent" in site  # socket.io sessions stay on one replica
    site = site.replace("/var/log/nginx/gru-assistant.access.log", str(tmp_path / "access.log"))
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{ include {tmp_path}/site.conf; }}\n",
        encoding="utf-8",
    )
    check = subprocess.run(
        [production.NGINX, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log")]
        + ["-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
