-- The scheduled jobs' timetable in the database (docs/DEPLOYMENT_ARCHITECTURE.md, "Scheduled
-- jobs"). Supabase Cron (pg_cron) runs expire-holds as SQL, and, where pg_net is there too,
-- calls the `jobs` edge function for the jobs that talk to providers:
--   momo-poll       every minute
--   revolut-poll    every 2 minutes
--   stripe-poll     every 5 minutes
--   expire-intents  every 5 minutes
--   expire-holds    every minute (SQL)
--   reconcile       daily at 02:00 UTC
-- The function is called with the project URL and service_role key stored in Supabase Vault
-- under the names `project_url` and `service_role_key` (read at each run, never stored here).
--
-- Harmless where the extensions are missing: without pg_cron (or without it preloaded, or
-- in a database other than cron.database_name) nothing is scheduled; without pg_net only
-- the SQL job is. The local stack runs the function's jobs with its own scheduler instead.
-- cron.schedule replaces a job of the same name, so running this again changes nothing.

-- POSTs to /functions/v1/jobs/<job> through pg_net (asynchronous: the answer lands in
-- net._http_response). Called by pg_cron only.
create function private.jobs_invoke(p_job text) returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_url text := (select s.decrypted_secret from vault.decrypted_secrets s where s.name = 'project_url');
  v_key text := (select s.decrypted_secret from vault.decrypted_secrets s where s.name = 'service_role_key');
begin
  if v_url is null or v_key is null then
    raise exception 'jobs_invoke: Vault secrets project_url and service_role_key are required'
      using errcode = '55000';
  end if;
  return net.http_post(
    url := rtrim(v_url, '/') || '/functions/v1/jobs/' || p_job,
    headers := jsonb_build_object('content-type', 'application/json', 'authorization', 'Bearer ' || v_key),
    body := '{}'::jsonb,
    timeout_milliseconds := 55000
  );
end;
$$;

do $schedule$
begin
  if not exists (select 1 from pg_available_extensions where name = 'pg_cron')
     or current_setting('shared_preload_libraries') !~ '(^|[ ,])pg_cron($|[ ,])'
     or current_database() <> coalesce(current_setting('cron.database_name', true), 'postgres') then
    raise notice 'pg_cron is not available in this database: no job scheduled';
    return;
  end if;
  -- pg_catalog, as Supabase installs it: nothing of it lands in an exposed schema.
  create extension if not exists pg_cron with schema pg_catalog;
  perform cron.schedule('mfuko-expire-holds', '* * * * *', 'select api_private.expire_holds(1000)');

  if not exists (select 1 from pg_available_extensions where name = 'pg_net') then
    raise notice 'pg_net is not available: the jobs function is not scheduled in the database';
    return;
  end if;
  create extension if not exists pg_net with schema extensions;
  perform cron.schedule('mfuko-momo-poll', '* * * * *', $$select private.jobs_invoke('momo-poll')$$);
  perform cron.schedule('mfuko-revolut-poll', '*/2 * * * *', $$select private.jobs_invoke('revolut-poll')$$);
  perform cron.schedule('mfuko-stripe-poll', '*/5 * * * *', $$select private.jobs_invoke('stripe-poll')$$);
  perform cron.schedule('mfuko-expire-intents', '*/5 * * * *', $$select private.jobs_invoke('expire-intents')$$);
  perform cron.schedule('mfuko-reconcile', '0 2 * * *', $$select private.jobs_invoke('reconcile')$$);
end;
$schedule$;
