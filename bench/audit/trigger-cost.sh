#!/usr/bin/env bash
# Measures what the audit trigger costs on the ledger's hot path, to choose between the
# row-level trigger the migrations install and statement-level triggers with transition
# tables (bench/audit/statement_level_variant.sql); docs/AUDIT.md has the results.
# Usage: PGHOST=127.0.0.1 PGPORT=... PGUSER=postgres PGDATABASE=... bench/audit/trigger-cost.sh [seconds] [rounds]
# It needs a database with the migrations applied. It runs pgbench's TPC-B-like script as the
# reference, then transfers with no audit, with the row-level trigger and with the
# statement-level triggers, at 8 and 20 clients, then wallet_transfer_batch (100 per call) the
# same three ways, and leaves the row-level trigger (what the migrations install) in place.
set -euo pipefail
secs=${1:-15}
rounds=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
db=${PGDATABASE:-postgres}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d "$db" "$@"; }

psql_q -f "$here/statement_level_variant.sql"
claims='{"sub":"00000000-0000-4000-8000-000000000001","role":"service_role","session_id":"bench"}'
# PostgREST's per-request context: role, claims, headers, then its pre-request function.
headers='{"x-correlation-id":"bench","x-forwarded-for":"203.0.113.7, 10.0.0.1","user-agent":"pgbench"}'

tables="public.wallet_accounts:id public.wallet_transactions:id public.wallet_entries:id"
psql_q -f "$here/ledger_accounts.sql"
call="select public.wallet_transfer((select id from bench_audit.ledger_accounts where n = :a), (select id from bench_audit.ledger_accounts where n = :b), 1, 'USD', gen_random_uuid()::text);"
# wallet_transfer_batch, 100 transfers per call.
cat > "$work/batch.sql" <<SQL
begin;
set local role service_role;
select set_config('request.jwt.claims', '$claims', true), set_config('request.headers', '$headers', true);
select api_hooks.pre_request();
select count(*) from public.wallet_transfer_batch((
  select jsonb_agg(jsonb_build_object('p_from', a.id, 'p_to', b.id, 'p_amount', 1, 'p_currency', 'USD',
                                      'p_idempotency_key', gen_random_uuid()::text))
    from generate_series(1, 100) g
    join bench_audit.ledger_accounts a on a.n = 1 + (g % 50)
    join bench_audit.ledger_accounts b on b.n = 1 + ((g + 7) % 50)));
commit;
SQL
cat > "$work/transfer.sql" <<SQL
\set a random(1, 50)
\set b random(1, 49)
\set b case when :b >= :a then :b + 1 else :b end
begin;
set local role service_role;
select set_config('request.jwt.claims', '$claims', true), set_config('request.headers', '$headers', true);
select api_hooks.pre_request();
$call
commit;
SQL

# The installed design: the migration's own attach calls (row triggers, and the ledger's set
# inserts per statement).
attach_row()  { psql_q -f "$here/../../supabase/migrations/20261122110100_audit_ledger.sql"; }
attach_stmt() { for t in $tables; do psql_q -c "select audit.bench_attach_statement('${t%%:*}', '${t##*:}')"; done; }
detach_all()  { for t in $tables; do for g in audit_row_change audit_row_insert audit_statement_insert audit_insert audit_update audit_delete; do psql_q -c "drop trigger if exists $g on ${t%%:*}"; done; done; }
# pgbench exits non-zero when a client aborts; a variant that fails stops the run.
run() {
  local out
  out=$(pgbench -n -c "$1" -j 2 -T "$secs" "${@:2}" -d "$db" 2>"$work/err") || { cat "$work/err" >&2; return 1; }
  grep -oP 'tps = \K[0-9.]+(?= \(without)' <<<"$out"
}
measure() { local v; v=$(run "${@:2}"); echo "$1 $2 $v"; }

pgbench -i -q -s 50 -d "$db" >/dev/null 2>&1
# The machine is shared and noisy: variants are interleaved within each round, every round
# runs all of them back to back, and the report is the median over rounds.
for r in $(seq 1 "$rounds"); do
  for c in 8 20; do
    measure tpcb $c
    detach_all
    measure no_audit $c -f "$work/transfer.sql"
    attach_row
    measure row_level $c -f "$work/transfer.sql"
    detach_all; attach_stmt
    measure statement_level $c -f "$work/transfer.sql"
    detach_all; attach_row
  done
  detach_all
  measure batch100_no_audit 2 -f "$work/batch.sql"
  attach_row
  measure batch100_row_level 2 -f "$work/batch.sql"
  detach_all; attach_stmt
  measure batch100_statement_level 2 -f "$work/batch.sql"
  detach_all; attach_row
done | tee "$work/raw" | sed 's/^/raw: /'
echo "variant clients median_tps ratio (to tpcb; batches: to batch100_no_audit)"
awk '{ v[$1" "$2] = v[$1" "$2] " " $3 } END { for (k in v) print k, v[k] }' "$work/raw" |
  while read -r variant clients values; do
    median=$(tr ' ' '\n' <<<"$values" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
    echo "$variant $clients $median"
  done | sort -k2,2n -k1,1 > "$work/medians"
# Single transfers are compared with TPC-B at the same client count, batches (calls/s) with
# the same batch without audit.
awk 'NR == FNR { if ($1 == "tpcb") base[$2] = $3; if ($1 == "batch100_no_audit") batch = $3; next }
     { printf "%s %s %.1f %.2f\n", $1, $2, $3, ($1 ~ /^batch/) ? $3 / batch : $3 / base[$2] }' "$work/medians" "$work/medians"
psql_q -c "drop function audit.bench_attach_statement(regclass, text); drop function audit.bench_record_statement();"
pgbench -i -I d -d "$db" >/dev/null 2>&1
