#!/bin/sh
# install-deps.sh — install the Debian 12 packages koble needs to build,
# run and test. Installs only what is missing, so it is cheap to call from
# every `make run` and `make test`. Needs root (or sudo) when something is
# missing; does nothing otherwise.
set -eu

# Build and link: the six libraries DESIGN.md names, plus the toolchain.
BUILD="build-essential pkg-config libuv1-dev libhiredis-dev libjansson-dev
libxxhash-dev libcriterion-dev libhttp-parser-dev"
# Run and test: a real Redis for the integration tests and `make run`
# (redis-server depends on redis-tools, which brings redis-cli), curl for
# the demo, python3-jsonschema to check responses against proto/.
RUN="redis-server curl python3 python3-jsonschema python3-yaml"

missing=""
for p in $BUILD $RUN; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
