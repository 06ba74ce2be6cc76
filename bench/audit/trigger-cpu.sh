#!/usr/bin/env bash
# Measures the CPU time the database backend spends on wallet_transfer and
# wallet_transfer_batch with no audit, with the row-level trigger the migrations install and
# with statement-level triggers (bench/audit/statement_level_variant.sql). CPU time, unlike throughput, hardly depends on what else
# the machine runs, so it separates the designs where pgbench's numbers are noise
# (docs/AUDIT.md). It reads /proc/<backend pid>/stat, so it must run on the database host.
# Usage: PGHOST=127.0.0.1 PGPORT=... PGUSER=postgres PGDATABASE=... bench/audit/trigger-cpu.sh [rounds]
set -euo pipefail
rounds=${1:-2}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -o /dev/null -v ON_ERROR_STOP=1 "$@"; }
tables="public.wallet_accounts public.wallet_transactions public.wallet_entries"
singles=600
batches=20

psql_q -f "$here/statement_level_variant.sql"
psql_q -f "$here/ledger_accounts.sql"

# Every statement commits on its own (psql autocommit), as API calls do.
{
  echo "set role service_role;"
  echo "select set_config('request.jwt.claims', '{\"sub\":\"00000000-0000-4000-8000-000000000001\",\"role\":\"service_role\"}', false),"
  echo "       set_config('request.headers', '{\"x-correlation-id\":\"bench\",\"x-forwarded-for\":\"203.0.113.7, 10.0.0.1\"}', false),"
  # What PostgREST's pre-request function (api_hooks.pre_request) decides for these headers;
  # it sets them per transaction, this session keeps them for all of its autocommitted calls.
  echo "       set_config('app.correlation_id', 'bench', false), set_config('app.client_address', '10.0.0.1', false);"
} > "$work/context.sql"
cp "$work/context.sql" "$work/singles.sql"
for i in $(seq "$singles"); do
  a=$(( (i * 7) % 50 + 1 )); b=$(( (i * 13 + 5) % 50 + 1 )); [ "$a" = "$b" ] && b=$(( a % 50 + 1 ))
  echo "select public.wallet_transfer((select id from bench_audit.ledger_accounts where n = $a), (select id from bench_audit.ledger_accounts where n = $b), 1, 'USD', gen_random_uuid()::text);"
done >> "$work/singles.sql"
cp "$work/context.sql" "$work/batches.sql"
for i in $(seq "$batches"); do
  echo "select count(*) from public.wallet_transfer_batch((select jsonb_agg(jsonb_build_object('p_from', a.id, 'p_to', b.id, 'p_amount', 1, 'p_currency', 'USD', 'p_idempotency_key', gen_random_uuid()::text)) from generate_series(1, 100) g join bench_audit.ledger_accounts a on a.n = 1 + (g % 50) join bench_audit.ledger_accounts b on b.n = 1 + ((g + 7) % 50)));"
done >> "$work/batches.sql"

detach_all() { for t in $tables; do for g in audit_row_change audit_row_insert audit_statement_insert audit_insert audit_update audit_delete; do psql_q -c "drop trigger if exists $g on $t"; done; done; }
# row_level is the installed design: the migration's own attach calls (row triggers, and the
# ledger's set inserts per statement).
use() {
  detach_all
  case $1 in
    row_level) psql_q -f "$here/../../supabase/migrations/20261122110100_audit_ledger.sql" ;;
    statement_level) for t in $tables; do psql_q -c "select audit.bench_attach_statement('$t', 'id')"; done ;;
  esac
}
# CPU ticks (1/100 s, user + system) of one backend running a script.
cpu_ticks() {
  {
    echo "select pg_backend_pid() as pid \\gset"
    echo "\\setenv BPID :pid"
    echo "\\! awk '{ print \"start\", \$14 + \$15 }' /proc/\$BPID/stat"
    echo "\\o /dev/null"
    echo "\\i $1"
    echo "\\o"
    echo "\\! awk '{ print \"end\", \$14 + \$15 }' /proc/\$BPID/stat"
  } | psql -X -q -v ON_ERROR_STOP=1 | awk '/^start/ { s = $2 } /^end/ { print $2 - s }'
}

echo "round variant singles_cpu_ms_per_transfer batch_cpu_ms_per_transfer"
for r in $(seq "$rounds"); do
  for v in no_audit row_level statement_level; do
    use "$v"
    s=$(cpu_ticks "$work/singles.sql")
    b=$(cpu_ticks "$work/batches.sql")
    awk -v r="$r" -v v="$v" -v s="$s" -v b="$b" -v n="$singles" -v m="$batches" \
      'BEGIN { printf "%s %s %.2f %.3f\n", r, v, s * 10 / n, b * 10 / (m * 100) }'
  done
done
use row_level
psql_q -c "drop function audit.bench_attach_statement(regclass, text); drop function audit.bench_record_statement();"
