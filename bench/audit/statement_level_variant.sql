-- The alternative design measured against audit.record_row_change (row-level, the one the
-- migrations install): triggers per statement and operation that read the transition
-- tables and write every changed row with one INSERT, reading the request context once per
-- statement (audit.request_context, as the installed triggers do). Loaded only by the
-- benchmarks in bench/audit/, never by a migration.
create or replace function audit.bench_record_statement() returns trigger
language plpgsql
security definer set search_path = ''
as $$
declare
  v_context record := audit.request_context();
  v_pk text := tg_argv[0];
  v_old_rows jsonb[];
  v_new_rows jsonb[];
begin
  -- Old and new images, aligned by position. An UPDATE pairs them by primary key; a row
  -- whose key itself changed still appears, once under its old and once under its new id.
  if tg_op = 'INSERT' then
    select pg_catalog.array_agg(pg_catalog.to_jsonb(n)) into v_new_rows from new_rows n;
  elsif tg_op = 'DELETE' then
    select pg_catalog.array_agg(pg_catalog.to_jsonb(o)) into v_old_rows from old_rows o;
  elsif tg_op = 'UPDATE' then
    select pg_catalog.array_agg(o.j), pg_catalog.array_agg(n.j)
      into v_old_rows, v_new_rows
      from (select pg_catalog.to_jsonb(t) as j from new_rows t) n
      full join (select pg_catalog.to_jsonb(t) as j from old_rows t) o on o.j -> v_pk = n.j -> v_pk;
  else
    v_new_rows := array[null::jsonb];
  end if;

  insert into audit.log (
    schema_name, table_name, operation, record_id, old_record, new_record, changed_fields,
    actor_id, actor_role, actor_app_role, session_id, correlation_id, ip, user_agent
  )
  select
    tg_table_schema,
    tg_table_name,
    tg_op,
    coalesce(c.new_image, c.old_image) ->> v_pk,
    case when tg_nargs > 1 then audit.redacted(c.old_image, tg_argv[1:]) else c.old_image end,
    case when tg_nargs > 1 then audit.redacted(c.new_image, tg_argv[1:]) else c.new_image end,
    case when tg_op = 'UPDATE' then array(
      select e.key from pg_catalog.jsonb_each(c.new_image) as e
       where e.value is distinct from c.old_image -> e.key
       order by e.key) end,
    v_context.actor_id, v_context.actor_role, v_context.actor_app_role, v_context.session_id,
    v_context.correlation_id, v_context.ip, v_context.user_agent
  from rows from (pg_catalog.unnest(v_old_rows), pg_catalog.unnest(v_new_rows)) as c (old_image, new_image);
  return null;
end;
$$;


-- Swap a table's audit from the row-level trigger to statement-level triggers.
create or replace function audit.bench_attach_statement(p_table regclass, p_pk text) returns void
language plpgsql
set search_path = ''
as $$
begin
  execute pg_catalog.format('drop trigger if exists audit_row_change on %s', p_table);
  execute pg_catalog.format('create or replace trigger audit_insert after insert on %s referencing new table as new_rows '
                            'for each statement execute function audit.bench_record_statement(%L)', p_table, p_pk);
  execute pg_catalog.format('create or replace trigger audit_update after update on %s referencing old table as old_rows '
                            'new table as new_rows for each statement execute function audit.bench_record_statement(%L)', p_table, p_pk);
  execute pg_catalog.format('create or replace trigger audit_delete after delete on %s referencing old table as old_rows '
                            'for each statement execute function audit.bench_record_statement(%L)', p_table, p_pk);
end;
$$;
