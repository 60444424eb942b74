#!/usr/bin/env bash
# test/setup.sh: install the Debian packages that building and testing
# tokacct need, those not installed yet.  Nothing else: no build, no server.
#
#   bash test/setup.sh              build and test dependencies
#   bash test/setup.sh PKG...       those plus the packages named
#
# The demo and the test runner call it first; run it alone to prepare a
# machine (as root, or as a user with sudo).
set -euo pipefail

PGVER=15
packages=(make gcc libc6-dev "postgresql-$PGVER" "postgresql-server-dev-$PGVER"
	"postgresql-client-$PGVER" python3 python3-numpy python3-scipy "$@")

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

printf '==> installing %s\n' "${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
