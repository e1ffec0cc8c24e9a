# Bozor: `make run` starts everything on embedded defaults; `make test` passes the suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test lint bench messages clean-data help vendor

help:
	@echo "make run    - install what is needed and start Bozor on http://127.0.0.1:8080"
	@echo "make test   - install test needs, run the linters (ruff, mypy) and the whole suite"
	@echo "make bench  - run the benchmarks in bench/"

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Bozor needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

# Runtime packages, then the gettext catalogs compiled from locales/*.po.
$(VENV)/.runtime: requirements.txt $(VENV)/bin/python
	$(PIP) install -r requirements.txt
	$(VENV)/bin/pybabel compile -d locales -D bozor -f
	@touch $@

# Test packages in one pip run with the runtime set, so moto cannot move botocore off
# aiobotocore's pin; Debian's chromium for the browser tests when the suite has them.
$(VENV)/.dev: requirements-dev.txt requirements.txt $(VENV)/.runtime
	$(PIP) install -r requirements-dev.txt
	@touch $@

# Browser tests drive Debian's chromium through Playwright (never `playwright install`:
# it downloads a browser of its own, which these machines cannot fetch).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "browser tests need Debian's chromium: apt-get install chromium" >&2; exit 1; fi

run: $(VENV)/.runtime
	$(PY) run.py

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(VENV)/.dev $(CHROMIUM)
	$(VENV)/bin/pybabel compile -d locales -D bozor -f >/dev/null
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest

# Every bench runs even when one fails or misses its goal (exit status not 0); those are named
# at the end and make the target fail.
bench: $(VENV)/.dev
	@failed=; for script in bench/*.py; do \
	  case "$$script" in bench/echo_bot.py) continue;; esac; \
	  args=; case "$$script" in bench/crash.py|bench/broadcast.py) args=--quick;; esac; \
	  echo "== $$script $$args"; $(PY) "$$script" $$args || failed="$$failed $$script"; done; \
	if [ -n "$$failed" ]; then echo "== failed or below goal:$$failed"; exit 1; fi

# Re-extract texts and merge them into the uz/ru/en catalogs after changing user-visible texts.
messages: $(VENV)/.dev
	$(VENV)/bin/pybabel extract -F babel.cfg -k _ -k N_ -o locales/bozor.pot --no-location --omit-header --sort-output .
	$(VENV)/bin/pybabel update -i locales/bozor.pot -d locales -D bozor --no-fuzzy-matching --ignore-obsolete

clean-data:
	rm -rf data

# Refresh the vendored front-end files in static/vendor from the npm registry (see its README).
BOOTSTRAP_VERSION := 5.3.9
CHARTJS_VERSION := 4.6.1
REDOC_VERSION := 2.5.4
QRCODE_VERSION := 2.0.4
vendor:
	rm -rf .vendor-tmp && mkdir .vendor-tmp
	cd .vendor-tmp && npm pack --silent bootstrap@$(BOOTSTRAP_VERSION) chart.js@$(CHARTJS_VERSION) \
	  redoc@$(REDOC_VERSION) qrcode-generator@$(QRCODE_VERSION) >/dev/null \
	  && tar xzf bootstrap-$(BOOTSTRAP_VERSION).tgz && mv package bootstrap \
	  && tar xzf chart.js-$(CHARTJS_VERSION).tgz && mv package chartjs \
	  && tar xzf redoc-$(REDOC_VERSION).tgz && mv package redoc \
	  && tar xzf qrcode-generator-$(QRCODE_VERSION).tgz && mv package qrcode
	cp .vendor-tmp/bootstrap/dist/css/bootstrap.min.css .vendor-tmp/bootstrap/dist/js/bootstrap.bundle.min.js \
	   .vendor-tmp/chartjs/dist/chart.umd.min.js static/vendor/
	cp .vendor-tmp/bootstrap/LICENSE static/vendor/LICENSE.bootstrap
	cp .vendor-tmp/chartjs/LICENSE.md static/vendor/LICENSE.chartjs.md
	cp .vendor-tmp/redoc/bundles/redoc.standalone.js static/vendor/
	cp .vendor-tmp/redoc/LICENSE static/vendor/LICENSE.redoc
	cp .vendor-tmp/qrcode/dist/qrcode.js static/vendor/
	sed -i 's#/\*\# sourceMappingURL=.*\*/##; s#//\# sourceMappingURL=.*##' static/vendor/*.js static/vendor/*.css
	rm -rf .vendor-tmp
