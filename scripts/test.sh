#!/usr/bin/env bash
# The whole test suite: format, lint, typecheck, then the unit, integration and end-to-end vitest
# projects against real Kafka, Temporal and FerretDB (started once by the test kit's global setup,
# stopped again if it started them). Ends with one line: "N passed, N failed".
# Called by ./leadflow test after set-up; extra arguments go to vitest (e.g. --project unit).
set -uo pipefail
cd "$(dirname "$0")/.."
out=.leadflow/test-results
mkdir -p "$out"
rm -f "$out"/*.json
checks_passed=0
checks_failed=0

check() { # name command...
  local name=$1; shift
  echo "::: $name" >&2
  if "$@" >"$out/$name.log" 2>&1; then
    checks_passed=$((checks_passed + 1))
  else
    checks_failed=$((checks_failed + 1))
    echo "FAILED: $name" >&2
    tail -n 60 "$out/$name.log" >&2
  fi
}

if [ $# -eq 0 ]; then
  check format prettier --check .
  # Type-aware lint holds a TypeScript program per project (a dozen, the console's with DOM and React
  # types): about 5 GB at peak, beyond node's default heap.
  check lint env NODE_OPTIONS=--max-old-space-size=8192 eslint --max-warnings=0 .
  check typecheck tsc -b
fi

# The console's browser tests drive Debian's Chromium; installed here (once) so a fresh machine needs
# nothing by hand. A failure to install fails the run rather than skipping those tests.
check chromium bash console/scripts/ensure-chromium.sh

echo "::: vitest" >&2
VITEST_JSON="$out/vitest.json" vitest run "$@"
vitest_rc=$?

node -e '
const fs = require("node:fs");
let passed = Number(process.argv[1]), failed = Number(process.argv[2]);
const rc = Number(process.argv[3]);
try {
  const r = JSON.parse(fs.readFileSync(process.argv[4], "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests;
  // A suite that failed to load has no failed test of its own: count it, so it cannot pass silently.
  for (const s of r.testResults) if (s.status === "failed" && s.assertionResults.every(a => a.status !== "failed")) failed += 1;
} catch { failed += 1; }
if (rc !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
' "$checks_passed" "$checks_failed" "$vitest_rc" "$out/vitest.json"
