-- The alternative design measured against audit.record_row_change: one trigger per
-- statement and operation that reads the transition tables and writes all their rows in
-- one INSERT ... SELECT. Loaded only by bench/audit/trigger-cost.sh, never by a migration.
create or replace function audit.bench_record_statement() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_claims jsonb := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
  v_headers jsonb := nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb;
  v_pk text := tg_argv[0];
  v_pairs jsonb;
begin
  if tg_op = 'INSERT' then
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(null, pg_catalog.to_jsonb(n))) into v_pairs from new_rows n;
  elsif tg_op = 'DELETE' then
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(pg_catalog.to_jsonb(o), null)) into v_pairs from old_rows o;
  else
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(o.j, n.j)) into v_pairs
      from (select pg_catalog.to_jsonb(t) j from new_rows t) n
      join (select pg_catalog.to_jsonb(t) j from old_rows t) o on o.j -> v_pk = n.j -> v_pk;
  end if;
  insert into audit.log (
    schema_name, table_name, operation, record_id, old_record, new_record, changed_fields,
    actor_id, actor_role, actor_app_role, session_id, correlation_id, ip, user_agent
  )
  select tg_table_schema, tg_table_name, tg_op,
         coalesce(nullif(p -> 1, 'null'), p -> 0) ->> v_pk, nullif(p -> 0, 'null'), nullif(p -> 1, 'null'),
         case when tg_op = 'UPDATE' then coalesce((
           select pg_catalog.array_agg(e.key order by e.key) from pg_catalog.jsonb_each(p -> 1) e
           where e.value is distinct from p -> 0 -> e.key), '{}') end,
         (v_claims ->> 'sub')::uuid,
         coalesce(v_claims ->> 'role', nullif(pg_catalog.current_setting('role'), 'none'), session_user),
         v_claims -> 'app_metadata' ->> 'role', v_claims ->> 'session_id',
         pg_catalog.left(coalesce(v_headers ->> 'x-correlation-id',
                         nullif(pg_catalog.current_setting('app.correlation_id', true), '')), 128),
         audit.client_ip(v_headers ->> 'x-forwarded-for'),
         pg_catalog.left(v_headers ->> 'user-agent', 512)
  from pg_catalog.jsonb_array_elements(coalesce(v_pairs, '[]')) as p;
  return null;
end;
$$;

-- Swap a table's audit from the row-level trigger to three statement-level triggers.
create or replace function audit.bench_attach_statement(p_table regclass, p_pk text) returns void
language plpgsql
set search_path = ''
as $$
begin
  execute pg_catalog.format('drop trigger if exists audit_row_change on %s', p_table);
  execute pg_catalog.format('create trigger audit_stmt_insert after insert on %s referencing new table as new_rows for each statement execute function audit.bench_record_statement(%L)', p_table, p_pk);
  execute pg_catalog.format('create trigger audit_stmt_update after update on %s referencing old table as old_rows new table as new_rows for each statement execute function audit.bench_record_statement(%L)', p_table, p_pk);
  execute pg_catalog.format('create trigger audit_stmt_delete after delete on %s referencing old table as old_rows for each statement execute function audit.bench_record_statement(%L)', p_table, p_pk);
end;
$$;
