#!/usr/bin/env bash
# The browser tests drive Debian's chromium (/usr/bin/chromium) through Playwright; no
# browser is downloaded. Installs it with apt-get when missing and this user may do so.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  test -x /usr/bin/chromium
else
  echo "warning: /usr/bin/chromium is missing; install Debian's chromium (as root:" \
       "apt-get install chromium) or the browser tests cannot run" >&2
fi
