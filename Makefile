# Every target bootstraps .venv itself and is safe to re-run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
CHROMIUM ?= /usr/bin/chromium
ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test bench lint chromium install clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,dev]'
	@touch $(STAMP)

install: $(STAMP)

# The system Chromium from Debian's packages; never a browser download.
chromium:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "installing the system Chromium (apt-get install -y chromium fonts-noto-cjk) ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else \
		echo "Chromium is missing. Install it with: sudo apt-get install -y chromium fonts-noto-cjk"; exit 1; \
	fi

demo: $(STAMP) chromium
	$(VENV)/bin/takedown demo $(ARGS)

test: $(STAMP) chromium
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP) chromium
	$(PY) -m bench $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) var/demo.db* .pytest_cache
