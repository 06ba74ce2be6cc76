#!/usr/bin/env bash
# Asks a deployed (or local) mfuko for its health and prints every check with its latency.
#
#   scripts/verify/health-checks.sh [--url <SUPABASE_URL>] [--timeout <seconds>] [--expect-version <v>]
#
# Calls GET /functions/v1/health/live, then GET /functions/v1/health/ready, at the project URL
# (default $SUPABASE_URL). Exit codes:
#   0  healthy or degraded (degraded: a non-critical dependency such as the rate-limit store is down)
#   1  unhealthy (503 from /ready, an unexpected answer, or a version other than --expect-version)
#   2  unreachable (no HTTP answer within the timeout)
#   64 bad usage
# Needs only curl and node (node reads the JSON), besides awk and sed from the base system.
set -euo pipefail

readonly EXIT_HEALTHY=0 EXIT_UNHEALTHY=1 EXIT_UNREACHABLE=2 EXIT_USAGE=64

base_url="${SUPABASE_URL:-}"
timeout_seconds=10
expected_version=""

# The comment block at the top of this file.
print_help() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

fail_usage() {
  echo "health-checks: $1" >&2
  echo "usage: scripts/verify/health-checks.sh [--url <SUPABASE_URL>] [--timeout <seconds>] [--expect-version <v>]" >&2
  exit "$EXIT_USAGE"
}

parse_arguments() {
  while (($# > 0)); do
    case "$1" in
      --url) (($# >= 2)) || fail_usage "--url needs a value"; base_url="$2"; shift 2 ;;
      --timeout) (($# >= 2)) || fail_usage "--timeout needs a value"; timeout_seconds="$2"; shift 2 ;;
      --expect-version) (($# >= 2)) || fail_usage "--expect-version needs a value"; expected_version="$2"; shift 2 ;;
      -h | --help) print_help; exit 0 ;;
      *) fail_usage "unknown option '$1'" ;;
    esac
  done
  [[ -n "$base_url" ]] || fail_usage "no URL: pass --url or set SUPABASE_URL"
  [[ "$base_url" =~ ^https?://[^[:space:]]+$ ]] || fail_usage "--url must be an http(s) URL, got '$base_url'"
  [[ "$timeout_seconds" =~ ^[1-9][0-9]*$ ]] || fail_usage "--timeout must be a whole number of seconds, got '$timeout_seconds'"
  base_url="${base_url%/}"
}

check_tools() {
  local tool
  for tool in curl node; do
    command -v "$tool" >/dev/null || { echo "health-checks: $tool is required but not installed" >&2; exit "$EXIT_USAGE"; }
  done
}

# GET <path>: sets http_status, round_trip_ms and body_file; returns 1 when nothing answered.
body_file="$(mktemp)"
trap 'rm -f "$body_file"' EXIT
http_status="" round_trip_ms="" curl_error=""

fetch() {
  local path="$1" written curl_status=0
  written="$(curl --silent --show-error --max-time "$timeout_seconds" \
    --header "x-correlation-id: health-check-$(date +%s)" \
    --output "$body_file" --write-out '%{http_code} %{time_total}' \
    "$base_url/functions/v1/health/$path" 2>"$body_file.err")" || curl_status=$?
  curl_error="$(head -c 300 "$body_file.err")"
  rm -f "$body_file.err"
  http_status="${written%% *}"
  round_trip_ms="$(awk -v seconds="${written##* }" 'BEGIN { printf "%d", seconds * 1000 + 0.5 }')"
  [[ "$curl_status" == 0 && "$http_status" != "000" ]]
}

# Prints the answer of /ready (status, version, one line per check) and its overall status last.
describe_readiness() {
  node - "$body_file" <<'NODE'
const fs = require("node:fs");
let answer;
try {
  answer = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
} catch {
  console.log("  the answer is not JSON");
  console.log("invalid");
  process.exit(0);
}
const statuses = ["healthy", "degraded", "unhealthy"];
if (!answer || !statuses.includes(answer.status) || typeof answer.checks !== "object" || answer.checks === null) {
  console.log("  the answer has no status (healthy|degraded|unhealthy) and checks");
  console.log("invalid");
  process.exit(0);
}
const width = Math.max(8, ...Object.keys(answer.checks).map((name) => name.length));
for (const [name, check] of Object.entries(answer.checks)) {
  const latency = typeof check?.latency_ms === "number" ? `${check.latency_ms} ms` : "? ms";
  const error = check?.error ? `  ${check.error}` : "";
  console.log(`    ${name.padEnd(width)}  ${String(check?.status).padEnd(9)}  ${latency.padStart(8)}${error}`);
}
console.log(`version:${typeof answer.version === "string" ? answer.version : ""}`);
console.log(answer.status);
NODE
}

check_live() {
  if ! fetch live; then
    echo "  live   unreachable: ${curl_error:-no answer within ${timeout_seconds} s}"
    echo "result: unreachable"
    exit "$EXIT_UNREACHABLE"
  fi
  echo "  live   HTTP $http_status  ${round_trip_ms} ms"
  if [[ "$http_status" != 200 ]]; then
    echo "result: unhealthy (the health function does not serve /live)"
    exit "$EXIT_UNHEALTHY"
  fi
}

check_ready() {
  if ! fetch ready; then
    echo "  ready  unreachable: ${curl_error:-no answer within ${timeout_seconds} s}"
    echo "result: unreachable"
    exit "$EXIT_UNREACHABLE"
  fi
  echo "  ready  HTTP $http_status  ${round_trip_ms} ms"
  local lines status version
  lines="$(describe_readiness)"
  status="$(tail -n 1 <<<"$lines")"
  version="$(grep '^version:' <<<"$lines" | cut -d: -f2- || true)"
  grep -v '^version:' <<<"$lines" | sed '$d'
  echo "  version ${version:-unknown}"

  if [[ "$status" == invalid ]]; then
    echo "result: unhealthy (unexpected answer from /ready)"
    exit "$EXIT_UNHEALTHY"
  fi
  if [[ -n "$expected_version" && "$version" != "$expected_version" ]]; then
    echo "result: unhealthy (serving version '${version}', expected '${expected_version}')"
    exit "$EXIT_UNHEALTHY"
  fi
  # The status code is the contract (200 healthy/degraded, 503 unhealthy); the body must agree.
  if [[ "$status" == unhealthy || "$http_status" != 200 ]]; then
    echo "result: unhealthy"
    exit "$EXIT_UNHEALTHY"
  fi
  echo "result: $status"
  exit "$EXIT_HEALTHY"
}

main() {
  parse_arguments "$@"
  check_tools
  echo "health of $base_url/functions/v1/health (timeout ${timeout_seconds} s)"
  check_live
  check_ready
}

main "$@"
