#!/usr/bin/env bash
# `buf lint` over proto/ with the repository's buf.yaml: the API keeps to the
# Buf style rules, except those buf.yaml lists with a reason.
set -euo pipefail
: "${PLANTMON_BUF:?tools/test passes the buf binary as PLANTMON_BUF}"
cd "$TEST_SRCDIR/$TEST_WORKSPACE"
"$PLANTMON_BUF" lint --config buf.yaml proto
echo PASS
