#!/usr/bin/env bash
# A cold build prints Bazel's own lines only: no linux-sandbox debug output
# (Debian's /etc/bazel/bazelrc sets --sandbox_debug; our .bazelrc turns it off).
# Runs Bazel itself, so tools/test calls it directly rather than under `bazel test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:-//common:sha256}
output_base=$(mktemp -d /tmp/plantmon-quiet-build.XXXXXX)
log="$output_base.log"
cleanup() {
  bazel --output_base="$output_base" shutdown >/dev/null 2>&1 || true
  rm -rf "$output_base" "$log"
}
trap cleanup EXIT
# A fresh output base and no disk cache: every action runs, in the sandbox.
bazel --output_base="$output_base" build --disk_cache= "$target" >"$log" 2>&1
if ! grep -qE 'processes: .*linux-sandbox' "$log"; then
  echo "quiet_build_test: no sandboxed action ran for $target, so the check proves nothing:" >&2
  cat "$log" >&2
  exit 1
fi
debug_lines=$(grep -cE 'linux-sandbox(-pid1)?\.cc:[0-9]+' "$log" || true)
if [[ $debug_lines -gt 0 ]]; then
  grep -m3 -E 'linux-sandbox(-pid1)?\.cc:[0-9]+' "$log" >&2
  echo "quiet_build_test: the build printed $debug_lines sandbox debug lines (first ones above)" >&2
  exit 1
fi
echo "quiet_build_test: cold build of $target printed $(wc -l <"$log") lines, no sandbox debug output"
