#!/usr/bin/env bash
# Runs every test of FlagAnalyzer, on a fresh Debian machine too: installs what the tests need and is missing
# (redis-server, chromium, PostgreSQL's server) once, before any test starts, then builds the solution and runs
# `dotnet test --no-build` on it (the two test projects side by side) and prints one summary. Fails when a test fails, when any test is skipped, and when a test hangs.
#
#   ./test.sh                       everything (what .ci/run calls)
#   ./test.sh --filter "FullyQualifiedName~Unit"   extra arguments go to `dotnet test`
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# --- what the tests need -------------------------------------------------------------------------------------
for tool in dotnet node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test.sh: '$tool' is not on PATH: install the .NET SDK 10 and Node.js >= 20.19 with npm" >&2; exit 1; }
done

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
# Debian keeps PostgreSQL's server binaries off PATH; the PostgreSQL suite starts its own throw-away cluster from them
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)

if [ ${#need[@]} -gt 0 ]; then
  line="apt-get install -y --no-install-recommends ${need[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
    echo "test.sh: the tests need ${need[*]}, and this user cannot install them. Run, as root: $line" >&2
    exit 1
  fi
  command -v apt-get >/dev/null 2>&1 || { echo "test.sh: the tests need ${need[*]} (no apt-get here: install them with your package manager)" >&2; exit 1; }
  echo "test.sh: installing ${need[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- run -----------------------------------------------------------------------------------------------------
log=$(mktemp)
vitest_summary="$PWD/FlagAnalyzer.Tests/bin/vitest-summary.txt"
rm -f "$vitest_summary"
export FLAGANALYZER_VITEST_SUMMARY="$vitest_summary"

set +e
# A test that runs longer than the hang timeout kills its test host (and fails the run) instead of holding CI
# until its own limit; the whole run is bounded too.
# Built once first, then tested without a build: `dotnet test` alone builds and tests in the same MSBuild nodes, and the
# SQLite project's build waited for the node running the PostgreSQL tests (one suite after the other, ~17 min on 2 cores).
# Built, the two test projects run side by side.
timeout --kill-after=60s "${TEST_TIMEOUT:-45m}" bash -c '
  dotnet build FlagAnalyzer.sln -nologo -v q && \
  exec dotnet test FlagAnalyzer.sln --no-build --blame-hang-timeout "$0" --blame-hang-dump-type none "$@"' \
  "${TEST_HANG_TIMEOUT:-10m}" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 124 ] && echo "test.sh: the run did not finish within ${TEST_TIMEOUT:-45m}"

passed=$({ grep -Eo 'Passed: +[0-9]+' "$log" || true; } | awk '{s+=$2} END {print s+0}')
failed=$({ grep -Eo 'Failed: +[0-9]+' "$log" || true; } | awk '{s+=$2} END {print s+0}')
skipped=$({ grep -Eo 'Skipped: +[0-9]+' "$log" || true; } | awk '{s+=$2} END {print s+0}')
rm -f "$log"

echo
if [ -f "$vitest_summary" ]; then echo "web UI (Vitest, run by Web.VitestTests): $(cat "$vitest_summary")"; fi
if [ "$skipped" -gt 0 ]; then
  echo "test.sh: $skipped test(s) were skipped; a skipped test is a test that did not run, so this run fails"
  [ "$status" -eq 0 ] && status=1
fi
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "test.sh: no test ran"
  status=1
fi
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
