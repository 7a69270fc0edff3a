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
