#!/usr/bin/env bash
# Every test: type check, then vitest (the test setup starts the broker it needs and stops it).
# Ends with the plain closing line "tests: N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
echo "node: $(node --version) ($(command -v node))"
if ! command -v chromium >/dev/null 2>&1; then bash scripts/require-tools.sh chromium || echo "chromium unavailable: the browser test will fail" >&2; fi
npx tsc --noEmit || { echo "type check failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
report="$(mktemp)"
code=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || code=$?
node -e '
  const fs = require("node:fs");
  let r = {};
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch {}
  console.log(`tests: ${r.numPassedTests ?? 0} passed, ${r.numFailedTests ?? 0} failed`);
' "$report"
rm -f "$report"
exit $code
