#!/usr/bin/env bash
# Debian packages the test suite drives besides Envoy: Chromium (the status page's browser test,
# through playwright-core; Playwright's own browser download is never used) and promtool (from the
# "prometheus" package: checks and unit-tests the alert rules). Installs what is missing when run
# as root with apt-get; otherwise says what to install (those tests then skip, saying why).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -eq 0 ]; then
  echo "test tools present: $(/usr/bin/chromium --version 2>/dev/null | head -1); $(promtool --version 2>&1 | head -1)"
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "missing Debian packages for some tests: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
fi
