#!/usr/bin/env bash
# Deploys mfuko to one Supabase project, in the only safe order:
#
#   checks (tools, variables, secrets file) -> confirmation (production) -> npm test
#   -> database reachable -> RLS audit of the target -> supabase db push -> RLS audit again
#   -> the default currency's limits -> function secrets -> every function -> health verification
#
#   scripts/deploy/all.sh --env staging|production [--dry-run] [--skip-migrations]
#                         [--skip-functions] [--skip-secrets] [--yes]
#
# Variables come from scripts/deploy/<env>.env (git-ignored; copy <env>.env.example), which wins
# over exported variables; without that file (CI), from the environment. Another file:
# DEPLOY_ENV_FILE=<path>.
#   SUPABASE_PROJECT_REF    the project (20 lower-case letters)
#   SUPABASE_ACCESS_TOKEN   personal or CI access token (secrets and functions)
#   SUPABASE_DB_URL         postgres URL of the project's database (audit and migrations)
#   SUPABASE_URL            https://<ref>.supabase.co (health verification)
#   FUNCTIONS_SECRETS_FILE  env file with the functions' secrets (see functions.secrets.env.example)
# Relative paths are relative to the repository root.
#
# --dry-run prints every step with its command (passwords masked) and changes nothing. A check
# that fails does not stop it: the problem is marked where it was found (a missing variable also
# as <missing NAME> in the commands that use it), the rest of the plan is printed, and the dry
# run then lists every problem and exits 1. A real deploy stops at the first failed check.
# production asks to type the project ref unless --yes; without a terminal it needs --yes.
# Exit codes: 0 deployed (or dry run without problems), 1 a check or step failed, 2 bad usage.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT
readonly SUPABASE_CLI="node_modules/.bin/supabase"
readonly DEPLOY_VARIABLES=(SUPABASE_PROJECT_REF SUPABASE_ACCESS_TOKEN SUPABASE_DB_URL SUPABASE_URL FUNCTIONS_SECRETS_FILE)
readonly HEALTH_ATTEMPTS="${HEALTH_ATTEMPTS:-5}" HEALTH_RETRY_SECONDS="${HEALTH_RETRY_SECONDS:-6}"

environment=""
dry_run=false skip_migrations=false skip_functions=false skip_secrets=false assume_yes=false
step_number=0 current_step="" version="" variables_source="" secrets_file="" secret_names=""
problems=()

# ---------------------------------------------------------------------------------- output

say() { echo "   $*"; }
warn() { echo "   warning: $*" >&2; }
die() {
  echo "deploy: error: $*" >&2
  exit 1
}
fail_usage() {
  echo "deploy: $*" >&2
  echo "usage: scripts/deploy/all.sh --env staging|production [--dry-run] [--skip-migrations] [--skip-functions] [--skip-secrets] [--yes]" >&2
  exit 2
}

# A failed check: a deploy stops here; a dry run marks it and goes on (listed again at the end).
check_failed() {
  $dry_run || die "$*"
  problems+=("$*")
  say "PROBLEM: $*"
}

# Whether variable $1 is missing and stands in the dry run's plan as <missing NAME>.
is_missing() { [[ "${!1:-}" == "<missing $1>" ]]; }

begin_step() {
  step_number=$((step_number + 1))
  current_step="$1"
  echo "== $step_number. $current_step"
}

skip_step() {
  begin_step "$1"
  say "skipped ($2)"
}

# The text with database passwords and the access token replaced by ***.
masked() {
  local text="$*"
  text="$(sed -E 's#(postgres(ql)?://[^:/@[:space:]]*):[^@[:space:]]*@#\1:***@#g' <<<"$text")"
  [[ -n "${SUPABASE_ACCESS_TOKEN:-}" ]] && text="${text//"$SUPABASE_ACCESS_TOKEN"/***}"
  echo "$text"
}

# Runs a command of the current step (prints it first, masked); with --dry-run only prints it.
run() {
  if $dry_run; then
    say "would run: $(masked "$*")"
    return 0
  fi
  say "running: $(masked "$*")"
  local status=0
  "$@" || status=$?
  ((status == 0)) || die "step '$current_step' failed (exit $status); later steps were not run"
}

# ---------------------------------------------------------------------------------- inputs

# The comment block at the top of this file.
print_help() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

parse_arguments() {
  while (($# > 0)); do
    case "$1" in
      --env) (($# >= 2)) || fail_usage "--env needs a value (staging or production)"; environment="$2"; shift 2 ;;
      --env=*) environment="${1#--env=}"; shift ;;
      --dry-run) dry_run=true; shift ;;
      --skip-migrations) skip_migrations=true; shift ;;
      --skip-functions) skip_functions=true; shift ;;
      --skip-secrets) skip_secrets=true; shift ;;
      --yes) assume_yes=true; shift ;;
      -h | --help) print_help; exit 0 ;;
      *) fail_usage "unknown option '$1'" ;;
    esac
  done
  [[ -n "$environment" ]] || fail_usage "--env is required (staging or production)"
  [[ "$environment" == staging || "$environment" == production ]] ||
    fail_usage "unknown environment '$environment' (staging or production)"
}

absolute_path() {
  if [[ "$1" == /* ]]; then echo "$1"; else echo "$ROOT/$1"; fi
}

# Reads NAME=value lines (comments, blank lines and `export ` allowed; one pair of quotes
# stripped) into env_names/env_values. Nothing is evaluated, so a value cannot run code.
env_names=() env_values=()
read_env_file() {
  local file="$1" line name value number=0
  env_names=() env_values=()
  [[ -r "$file" ]] || die "cannot read $file"
  while IFS= read -r line || [[ -n "$line" ]]; do
    number=$((number + 1))
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    [[ "$line" =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] ||
      die "$file line $number is not NAME=value"
    name="${BASH_REMATCH[2]}" value="${BASH_REMATCH[3]}"
    if [[ "$value" =~ ^\"(.*)\"[[:space:]]*$ || "$value" =~ ^\'(.*)\'[[:space:]]*$ ]]; then value="${BASH_REMATCH[1]}"; fi
    env_names+=("$name")
    env_values+=("$value")
  done <"$file"
}

# The environment's file wins over the shell, so a variable exported for another project
# cannot redirect a deploy. Without the file (CI) the environment is used as it is.
load_deploy_variables() {
  local file i
  file="$(absolute_path "${DEPLOY_ENV_FILE:-scripts/deploy/$environment.env}")"
  if [[ ! -e "$file" ]]; then
    if [[ -n "${DEPLOY_ENV_FILE:-}" ]]; then die "DEPLOY_ENV_FILE $file does not exist"; fi
    variables_source="the environment (no scripts/deploy/$environment.env)"
    return 0
  fi
  read_env_file "$file"
  for i in "${!env_names[@]}"; do
    if [[ " ${DEPLOY_VARIABLES[*]} " != *" ${env_names[$i]} "* ]]; then
      check_failed "$file sets ${env_names[$i]}, which the deploy does not read (expected: ${DEPLOY_VARIABLES[*]})"
      continue
    fi
    export "${env_names[$i]}=${env_values[$i]}"
  done
  variables_source="${file#"$ROOT/"}"
}

# ---------------------------------------------------------------------------------- checks

check_tools() {
  begin_step "check tools"
  local missing=() tool
  local tools=(node npm git curl)
  $skip_migrations || tools+=(psql)
  for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  [[ -x "$SUPABASE_CLI" ]] || missing+=("supabase CLI ($SUPABASE_CLI: run node scripts/setup.mjs)")
  [[ -x node_modules/.bin/tsx ]] || missing+=("tsx (node_modules/.bin/tsx: run node scripts/setup.mjs)")
  if ((${#missing[@]} > 0)); then check_failed "missing tools: ${missing[*]}"; return 0; fi
  # The CLI's own --version takes seconds to start; its package.json says the same.
  say "node $(node --version), supabase CLI $(node -p 'require("./node_modules/supabase/package.json").version'), ${tools[*]:1} found"
}

check_variables() {
  begin_step "check variables"
  say "read from $variables_source"
  local needed=(SUPABASE_PROJECT_REF SUPABASE_URL) missing=() name
  $skip_migrations || needed+=(SUPABASE_DB_URL)
  if ! $skip_secrets || ! $skip_functions; then needed+=(SUPABASE_ACCESS_TOKEN); fi
  $skip_secrets || needed+=(FUNCTIONS_SECRETS_FILE)
  for name in "${needed[@]}"; do
    [[ -n "${!name:-}" ]] || missing+=("$name")
  done
  if ((${#missing[@]} > 0)); then
    check_failed "missing variables for $environment: ${missing[*]} (set them in scripts/deploy/$environment.env or the environment)"
    for name in "${missing[@]}"; do export "$name=<missing $name>"; done
  fi

  is_missing SUPABASE_PROJECT_REF || [[ "$SUPABASE_PROJECT_REF" =~ ^[a-z]{20}$ ]] ||
    check_failed "SUPABASE_PROJECT_REF must be 20 lower-case letters"
  if ! is_missing SUPABASE_URL; then
    [[ "$SUPABASE_URL" =~ ^https?://[^[:space:]]+$ ]] || check_failed "SUPABASE_URL must be an http(s) URL"
    [[ "$SUPABASE_URL" == *"$SUPABASE_PROJECT_REF"* ]] || warn "SUPABASE_URL does not contain the project ref (fine for a custom domain)"
  fi
  if ! $skip_migrations && ! is_missing SUPABASE_DB_URL; then
    [[ "$SUPABASE_DB_URL" =~ ^postgres(ql)?:// ]] || check_failed "SUPABASE_DB_URL must be a postgres:// or postgresql:// URL"
    [[ "$SUPABASE_DB_URL" == *"$SUPABASE_PROJECT_REF"* ]] ||
      warn "SUPABASE_DB_URL does not contain the project ref: make sure it is $environment's database"
  fi
  say "project $SUPABASE_PROJECT_REF, $SUPABASE_URL${SUPABASE_DB_URL:+, database $(masked "$SUPABASE_DB_URL")}"
}

# By the functions' own rules (check-secrets.ts); prints the names, never a value.
check_secrets_file() {
  if $skip_secrets; then skip_step "check the functions' secrets file" "--skip-secrets"; return 0; fi
  begin_step "check the functions' secrets file"
  secrets_file="$(absolute_path "$FUNCTIONS_SECRETS_FILE")"
  secret_names="<unknown: the secrets file did not pass its check>"
  if is_missing FUNCTIONS_SECRETS_FILE; then
    secret_names="<unknown: FUNCTIONS_SECRETS_FILE is missing>"
    say "nothing to check: FUNCTIONS_SECRETS_FILE is missing"
    return 0
  fi
  if [[ ! -f "$secrets_file" ]]; then check_failed "FUNCTIONS_SECRETS_FILE $secrets_file does not exist"; return 0; fi
  if ! secret_names="$(node_modules/.bin/tsx scripts/deploy/check-secrets.ts --env "$environment" "$secrets_file")"; then
    secret_names="<unknown: the secrets file did not pass its check>"
    check_failed "the secrets in ${secrets_file#"$ROOT/"} are not ready for $environment (problems above)"
    return 0
  fi
  if ((8#$(stat -c %a "$secrets_file") & 8#077)); then warn "${secrets_file#"$ROOT/"} is readable by other users (chmod 600 it)"; fi
  say "$(wc -w <<<"$secret_names") secrets: $secret_names"
}

confirm_target() {
  begin_step "confirm the target"
  if [[ "$environment" != production ]]; then say "$environment: no confirmation needed"; return 0; fi
  if $assume_yes; then say "production confirmed by --yes"; return 0; fi
  if $dry_run; then say "would ask to type the project ref ($SUPABASE_PROJECT_REF)"; return 0; fi
  [[ -t 0 ]] || die "production needs confirmation: run in a terminal, or pass --yes (CI); nothing was changed"
  local answer
  read -r -p "   Type the project ref ($SUPABASE_PROJECT_REF) to deploy to production: " answer
  [[ "$answer" == "$SUPABASE_PROJECT_REF" ]] || die "confirmation did not match the project ref; nothing was changed"
}

# The deployed commit; health must report it afterwards (MFUKO_VERSION).
determine_version() {
  version="${GITHUB_SHA:-$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)}"
  if [[ -z "$version" ]]; then
    check_failed "cannot determine the git commit to deploy"
    version="<unknown commit>"
    return 0
  fi
  version="${version:0:12}"
  if [[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]]; then
    version="$version-dirty"
    warn "the working tree has uncommitted changes; deploying it as version $version"
  fi
}

# ---------------------------------------------------------------------------------- steps

run_test_suite() {
  begin_step "run the test suite"
  run npm test
}

check_database_connection() {
  if $skip_migrations; then skip_step "check the database connection" "--skip-migrations"; return 0; fi
  begin_step "check the database connection"
  run env PGCONNECT_TIMEOUT=10 psql "$SUPABASE_DB_URL" -v ON_ERROR_STOP=1 -Atc "select 'connected to ' || current_database() || ', PostgreSQL ' || current_setting('server_version')"
}

# Before the push: the target as it is (a finding there means a change made by hand).
# After the push: what the new migrations made of it, before any function relies on it.
run_rls_audit() {
  local title="$1"
  if $skip_migrations; then skip_step "$title" "--skip-migrations"; return 0; fi
  begin_step "$title"
  run npm run rls:audit -- --db-url "$SUPABASE_DB_URL" --fail-on error
}

push_migrations() {
  if $skip_migrations; then skip_step "push migrations" "--skip-migrations"; return 0; fi
  begin_step "push migrations"
  local files=(supabase/migrations/*.sql)
  say "${#files[@]} migration files, latest ${files[-1]##*/}; the CLI applies those the target has not recorded"
  run "$SUPABASE_CLI" db push --remote="$SUPABASE_DB_URL" --yes
}

# The currency the new secrets open WhatsApp wallets in must have limits in the migrated
# database, or every new person could receive money and pay nobody.
check_currency_limits() {
  if $skip_secrets; then skip_step "check the default currency's limits" "--skip-secrets"; return 0; fi
  if $skip_migrations; then skip_step "check the default currency's limits" "--skip-migrations"; return 0; fi
  begin_step "check the default currency's limits"
  run node_modules/.bin/tsx scripts/deploy/check-currency-limits.ts --db-url "$SUPABASE_DB_URL" "${secrets_file#"$ROOT/"}"
}

set_function_secrets() {
  if $skip_secrets; then skip_step "set function secrets" "--skip-secrets"; return 0; fi
  begin_step "set function secrets"
  say "names: $secret_names"
  run "$SUPABASE_CLI" secrets set --env-file "${secrets_file#"$ROOT/"}" --remote="$SUPABASE_PROJECT_REF" --yes
}

# Every folder of supabase/functions with an index.ts, except shared code (_shared, ...).
function_names() {
  local dir
  for dir in supabase/functions/*/; do
    dir="${dir%/}"
    [[ "${dir##*/}" == _* || ! -f "$dir/index.ts" ]] || echo "${dir##*/}"
  done
}

deploy_functions() {
  if $skip_functions; then skip_step "deploy functions" "--skip-functions"; return 0; fi
  begin_step "deploy functions"
  local names name
  mapfile -t names < <(function_names)
  ((${#names[@]} > 0)) || die "no function folders in supabase/functions"
  say "functions: ${names[*]} (verify_jwt from supabase/config.toml)"
  run "$SUPABASE_CLI" secrets set "MFUKO_VERSION=$version" --remote="$SUPABASE_PROJECT_REF" --yes
  for name in "${names[@]}"; do
    # The bare imports (hono, zod, postgres, ...) resolve through the shared deno.json, which the
    # CLI uploads only when it is named; a function with its own deno.json gets that one instead.
    local import_map=()
    [[ -f "supabase/functions/$name/deno.json" ]] || import_map=(--import-map supabase/functions/deno.json)
    run "$SUPABASE_CLI" functions deploy "$name" "${import_map[@]}" --remote="$SUPABASE_PROJECT_REF" --use-api --yes
  done
}

# Freshly deployed functions can take a few seconds to serve the new version: a few attempts.
verify_health() {
  begin_step "verify health"
  local command=(scripts/verify/health-checks.sh --url "$SUPABASE_URL")
  $skip_functions || command+=(--expect-version "$version")
  if $dry_run; then run "${command[@]}"; return 0; fi
  local attempt
  for ((attempt = 1; attempt <= HEALTH_ATTEMPTS; attempt++)); do
    say "attempt $attempt of $HEALTH_ATTEMPTS: $(masked "${command[*]}")"
    if bash "${command[@]}"; then return 0; fi
    ((attempt == HEALTH_ATTEMPTS)) || sleep "$HEALTH_RETRY_SECONDS"
  done
  die "health verification failed after $HEALTH_ATTEMPTS attempts (roll back: docs/DEPLOYMENT_ARCHITECTURE.md)"
}

# ---------------------------------------------------------------------------------- main

main() {
  parse_arguments "$@"
  cd "$ROOT"
  load_deploy_variables
  determine_version
  echo "mfuko deploy to $environment, version $version$($dry_run && echo ' (dry run: nothing will be changed)')"
  check_tools
  check_variables
  check_secrets_file
  confirm_target
  run_test_suite
  check_database_connection
  run_rls_audit "audit RLS on the target"
  push_migrations
  run_rls_audit "audit RLS after the migrations"
  check_currency_limits
  set_function_secrets
  deploy_functions
  verify_health
  if ! $dry_run; then
    echo "deployed version $version to $environment"
  elif ((${#problems[@]} == 0)); then
    echo "dry run complete: nothing was changed"
  else
    echo "dry run complete: nothing was changed; ${#problems[@]} problem(s) would stop a deploy"
    local problem
    for problem in "${problems[@]}"; do echo "deploy: error: $problem" >&2; done
    exit 1
  fi
}

main "$@"
