#!/usr/bin/env bash
# Installs the real servers the tests and CI start on loopback ports. Idempotent: each
# section does nothing when its server is already in place. One section per server.
set -euo pipefail

# --- S3: versitygw (Apache-2.0), built from the Go module proxy into $(go env GOPATH)/bin ---
# test/servers/s3.ts looks for it there (or at $VERSITYGW).
VERSITYGW_VERSION=v1.8.0
go_bin=$(command -v go || echo /usr/local/go/bin/go)
versitygw="$("$go_bin" env GOPATH)/bin/versitygw"
if [ -x "$versitygw" ] && "$go_bin" version -m "$versitygw" | grep -Eq "^\s+mod\s+github.com/versity/versitygw\s+${VERSITYGW_VERSION}\s"; then
  echo "versitygw ${VERSITYGW_VERSION}: $versitygw"
else
  echo "installing versitygw ${VERSITYGW_VERSION} into $(dirname "$versitygw") (a few minutes)"
  "$go_bin" install "github.com/versity/versitygw/cmd/versitygw@${VERSITYGW_VERSION}"
fi

# --- Redis: Debian's redis-server (BSD-3-Clause), for the BullMQ stage queue ---
# test/servers/redis.ts starts it on a free loopback port; the packaged service is not needed.
if command -v redis-server >/dev/null; then
  echo "$(redis-server --version | cut -d' ' -f1-3): $(command -v redis-server)"
else
  echo "installing redis-server (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
# Debian starts the packaged service on port 6379; the tests do not use it, so it may stay or be stopped.
