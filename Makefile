# The project's vocabulary: make run | make test | make test-fast | make train | make shell | make bench | make lint
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_STAMP := web/node_modules/.installed
WEB_BUNDLE := web/dist/widget.js
CHROMIUM ?= /usr/bin/chromium
NGINX ?= /usr/sbin/nginx
export PYTHONPATH := $(CURDIR)
export TF_CPP_MIN_LOG_LEVEL ?= 2
export RASA_TELEMETRY_ENABLED ?= false
export SQLALCHEMY_SILENCE_UBER_WARNING ?= 1
# Floors on the held-out test set (measured 0.96 / 0.91: see README, Benchmarks).
NLU_MIN_F1 ?= 0.95
NLU_MIN_ENTITY_F1 ?= 0.90
# make lock: pip-tools in .venv-tools (a known-good pair with pip < 25).
PIP_TOOLS ?= pip-tools==7.6.2

.PHONY: browser nginx prod-up prod-down bench-load test-web web-size run shell train test test-fast validate test-stories test-nlu pytest bench bench-booking bench-alerts lint format install clean check-content purge audit lock
.PHONY: test-blind test-production

## Start the action server + Rasa (REST, socketio, Facebook if configured) and the
## demo page with the chat widget. Ctrl-C stops.
run: train $(WEB_BUNDLE)
	$(BIN)/python -m ops.run

## Talk to the assistant in the terminal.
shell: train
	$(BIN)/python -m ops.shell

## Train only when data, config or domain changed (Rasa fingerprinting: `--dry-run`
## exits 0 when the cached graph is up to date). Keeps only the newest model.
train: $(STAMP)
	@if ls models/*.tar.gz >/dev/null 2>&1 && $(BIN)/rasa train --domain domain --dry-run --out models >/dev/null 2>&1; then \
	  echo "Modèle à jour : $$(ls -t models/*.tar.gz | head -n 1)"; \
	else \
	  echo "Entraînement du modèle : données, domaine ou config.yml modifiés (quelques minutes sur 2 cœurs)…"; \
	  $(BIN)/rasa train --domain domain --out models --num-threads 2 && \
	  ls -t models/*.tar.gz | tail -n +2 | xargs -r rm -f; \
	fi

test: $(STAMP) $(WEB_BUNDLE) browser nginx lint test-web validate train test-stories test-nlu test-blind pytest test-production

## The inner loop: lint and the unit tests, no Rasa training (under 90 s on 2 cores).
## The booking benchmark test (tests/bench) and the integration tests run in `make test`.
test-fast: lint
	$(BIN)/python -m pytest tests/unit -p no:cacheprovider -q

validate: $(STAMP)
	$(BIN)/rasa data validate --domain domain --fail-on-warnings

test-stories: $(STAMP)
	$(BIN)/rasa test core --stories tests/stories --fail-on-prediction-errors --out results/core

test-nlu: $(STAMP)
	$(BIN)/rasa test nlu --domain domain --nlu tests/nlu --successes --out results/nlu
	$(BIN)/python -m ops.check_nlu results/nlu --min-intent-f1 $(NLU_MIN_F1) --min-entity-f1 $(NLU_MIN_ENTITY_F1)

## The blind test sets of tests/blind (real users' messages, knowledge questions): accuracy
## floors of issue 12, with the newest model and the knowledge ranker (about a minute).
test-blind: $(STAMP)
	$(BIN)/python -m ops.check_blind --min-real-users 0.90 --min-knowledge 0.90

pytest: $(STAMP)
	$(BIN)/python -m pytest -m "not production_shape"

## Two Rasa replicas and two action servers behind nginx, on PostgreSQL and Redis: state kept
## across replicas, webchat through the proxy, a replica killed under load (about 4 minutes).
test-production: $(STAMP) train nginx
	$(BIN)/python -m pytest -m production_shape tests/production

bench: $(STAMP)
	$(BIN)/python -m ops.bench

## Booking engine under load: SQLite and the PostgreSQL at 127.0.0.1:5432 (a few minutes).
bench-booking: $(STAMP)
	$(BIN)/python -m ops.bench_booking --out bench/results/booking.json

## Crisis alerts broadcast to 10,000 subscribers against local fakes (Graph API, SMTP, SMS):
## exactly once each, time and memory against a single-channel baseline (about a minute).
bench-alerts: $(STAMP)
	$(BIN)/python -m ops.bench_alerts --out bench/results/alerts.json

## Check every content file (territory/demo/*.yml or the GRU_*_FILE ones), with French messages.
check-content: $(STAMP)
	$(BIN)/python -m ops.check_content

## Apply the retention limits of territory/demo/privacy.yml (make run does it once a day).
purge: $(STAMP)
	$(BIN)/python -m ops.purge

## Known vulnerabilities of the locked dependencies (pip-audit, in its own venv: its
## dependencies conflict with Rasa's pins). Needs PyPI's JSON API or api.osv.dev, which the
## build machines cannot reach, so it is not part of `make test`; --strict fails rather than
## pass when a package could not be checked. Ignored IDs and why: .pip-audit-ignore.
audit:
	@test -x .venv-audit/bin/pip-audit || { $$(scripts/find_python310.sh) -m venv .venv-audit && .venv-audit/bin/pip install --quiet pip-audit; }
	.venv-audit/bin/pip-audit -r requirements.lock --no-deps --disable-pip --strict --progress-spinner off \
	  $$(sed -n 's/^\([A-Z][A-Z0-9-]*\).*/--ignore-vuln \1/p' .pip-audit-ignore)

## Regenerate requirements.lock from requirements.in: pip-compile (pip-tools, in its own venv
## .venv-tools: its dependencies conflict with Rasa's pins) on Python 3.10, ONE resolver run
## of everything (spaCy resolved apart from Rasa pulls pydantic 2), the sha256 of every file
## of every pin (pip then installs in hash-checking mode). The current lock constrains the
## run, so no pin moves and a new package of requirements.in must fit them;
## LOCK_UPGRADE=1 resolves requirements.in afresh. Needs PyPI; about 8 minutes.
## The awk drops the constraint file from the "via" comments (every pin would name it).
lock:
	@test -x .venv-tools/bin/pip-compile || { $$(scripts/find_python310.sh) -m venv .venv-tools && \
	  .venv-tools/bin/python -m pip install --quiet --upgrade "pip<25" "$(PIP_TOOLS)"; }
	@mkdir -p .venv-tools/lock && rm -f .venv-tools/lock/requirements.lock
	@if [ "$(LOCK_UPGRADE)" = 1 ]; then : > .venv-tools/lock/pins.txt; \
	  else grep -E '^[A-Za-z0-9]' requirements.lock | sed 's/[ \\]*$$//' > .venv-tools/lock/pins.txt; fi
	CUSTOM_COMPILE_COMMAND="make lock" .venv-tools/bin/pip-compile --quiet --generate-hashes \
	  --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
	  --constraint .venv-tools/lock/pins.txt --output-file .venv-tools/lock/requirements.lock requirements.in
	awk 'function flush() { if (n == 1) print "    # via " item[1]; \
	    else if (n > 1) { print "    # via"; for (i = 1; i <= n; i++) print "    #   " item[i] } via = 0 } \
	  /^    #   -c / { next } \
	  via && /^    #   / { item[++n] = substr($$0, 9); next } \
	  via { flush() } \
	  /^    # via$$/ { via = 1; n = 0; next } \
	  { print } END { if (via) flush() }' .venv-tools/lock/requirements.lock > requirements.lock
	@echo "requirements.lock : $$(grep -cE '^[A-Za-z0-9][^#]*==' requirements.lock) paquets épinglés, avec leurs empreintes."

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .

install: $(STAMP) $(WEB_BUNDLE)

## The website widget (web/src): socket.io-client, esbuild and axe-core from npm, pinned by
## web/package-lock.json; the bundle web/dist/widget.js is built here (not in git) and the
## build prints its gzipped size (fails over 60 KB). The same build makes web/dist/dashboard.js
## (the statistics pages' charts, Chart.js; budget 100 KB).
$(WEB_STAMP): web/package-lock.json
	@echo "Installation : paquets npm du widget (web/package-lock.json)…"
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $(WEB_STAMP)

$(WEB_BUNDLE): $(WEB_STAMP) web/build.mjs $(wildcard web/src/*.js)
	@echo "Construction du widget du site (web/dist/widget.js)…"
	cd web && node build.mjs

## The widget's size, gzipped (budget 60 KB).
web-size: $(WEB_STAMP)
	cd web && node build.mjs

## The widget's safe markdown (node's test runner); the browser tests are in tests/browser.
test-web: $(WEB_STAMP)
	cd web && node --test test/

## Debian's Chromium for the browser test (Playwright drives it; no browser download).
browser:
	@test -x $(CHROMIUM) || { echo "Installing Debian's chromium for the browser test…"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium chromium-driver >/dev/null; fi; }
	@test -x $(CHROMIUM) || { echo "chromium is missing: apt-get install chromium chromium-driver" >&2; exit 1; }

## Debian's nginx for the production shape and its tests (tests/production).
nginx:
	@test -x $(NGINX) || { echo "Installation de nginx (paquet Debian) pour la forme de production…"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nginx >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq nginx >/dev/null; fi; }
	@test -x $(NGINX) || { echo "nginx is missing: apt-get install nginx" >&2; exit 1; }

## The production shape on this machine: nginx on 127.0.0.1:8000 in front of 2 Rasa replicas
## and 2 action servers, PostgreSQL (tracker + application) and Redis at 127.0.0.1 (README,
## Production). `make prod-down` stops it.
prod-up: train nginx
	$(BIN)/python -m ops.production up

prod-down: $(STAMP)
	$(BIN)/python -m ops.production down

## Load test (locust, headless, loopback): 1 then 2 replicas behind nginx, ~8 minutes; not in
## `make test`. Figures in bench/results/load.json and bench/results/load-*.png.
bench-load: train nginx
	$(BIN)/python -m ops.loadtest --out bench/results/load.json

## Prints one line per package (« [12/180] tensorflow ») instead of minutes of silence: the total
## counts the pins (not the hash and « via » lines), pip says « Collecting » for a package from an
## index and « Processing <wheel> » for one from a local find-links or file:// index.
$(STAMP): requirements.lock
	@echo "Installation : environnement Python 3.10 dans $(VENV)…"
	@test -x $(BIN)/python || $$(scripts/find_python310.sh) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip<25"
	@total=$$(grep -cE '^[A-Za-z0-9][^#]*==' requirements.lock); \
	  echo "Installation : $$total paquets Python de requirements.lock (quelques minutes la première fois)…"; \
	  set -o pipefail; $(BIN)/python -m pip install --progress-bar off -r requirements.lock | \
	  awk -v total=$$total '/^(Collecting|Processing) /{n++; name = $$2; \
	      if ($$1 == "Processing") { sub(/.*\//, "", name); sub(/-[0-9].*/, "", name) } \
	      printf "  [%d/%d] %s\n", n, total, name; fflush()} \
	    /^Successfully installed/{print "  paquets installés."; fflush()}'
	@echo "Installation : dépendances Python prêtes."
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .venv-audit .venv-tools models/*.tar.gz results var .run web/node_modules web/dist
