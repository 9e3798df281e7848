#!/usr/bin/env bash
# Runs the failover drill on the binaries of this build (see BUILD). It fails,
# never skips, when pg_auto_failover is missing: tools/bootstrap installs it.
set -euo pipefail
runfiles="$TEST_SRCDIR/$TEST_WORKSPACE"
# runuser lives in /usr/sbin, which a test's PATH may lack.
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
command -v pg_autoctl >/dev/null || { echo "FAIL: pg_autoctl is not installed (tools/bootstrap)" >&2; exit 1; }
PLANTMON_DRILL_BIN="$runfiles" exec "$runfiles/tools/fault/run_failover.sh" "$@"
