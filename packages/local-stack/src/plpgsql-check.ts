// The SQL linter of `npm test`: plpgsql_check compiles every PL/pgSQL function of the migrated
// database as PostgreSQL would run it (every statement planned, every name and type resolved,
// dynamic SQL inspected), which creating a function does not do. Errors fail the step;
// warnings are printed for a person to judge.
import postgres from "postgres";

export interface Finding {
  fn: string;
  level: string;
  sqlstate: string;
  message: string;
  lineno: number | null;
  detail: string | null;
  hint: string | null;
}

/** Functions that need something only Supabase has, with the reason they are not checked. */
export const notChecked: Record<string, string> = {
  "private.jobs_invoke(text)": "reads Vault and calls pg_net, which exist on Supabase only",
};

// Trigger functions are checked against a table they are attached to (and its transition
// tables), so `new`, `old` and `referencing ... as` names resolve; one left unattached cannot be.
const findingsQuery = `
  with targets as (
    select p.oid, p.oid::regprocedure::text as fn, t.tgrelid, t.tgoldtable, t.tgnewtable,
           p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype as is_trigger
      from pg_catalog.pg_proc p
      join pg_catalog.pg_language l on l.oid = p.prolang and l.lanname = 'plpgsql'
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      left join lateral (
        select tg.tgrelid, tg.tgoldtable, tg.tgnewtable from pg_catalog.pg_trigger tg
         where tg.tgfoid = p.oid order by tg.tgnewtable is null, tg.tgrelid limit 1
      ) t on true
     where n.nspname not in ('pg_catalog', 'information_schema')
       and not exists (select 1 from pg_catalog.pg_depend d
                        where d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objid = p.oid and d.deptype = 'e')
  )
  select t.fn, c.level, c.sqlstate, c.message, c.lineno, c.detail, c.hint
    from targets t
   cross join lateral extensions.plpgsql_check_function_tb(
     t.oid, coalesce(t.tgrelid, 0), fatal_errors => false, other_warnings => true, performance_warnings => false,
     extra_warnings => true, security_warnings => true, oldtable => t.tgoldtable, newtable => t.tgnewtable) c
   where not (t.is_trigger and t.tgrelid is null) and t.fn <> all($1::text[])
   order by t.fn, c.lineno`;

/** Every finding of plpgsql_check in the database at `url` (the extension is installed for the check and removed after). */
export async function plpgsqlFindings(url: string): Promise<Finding[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`create extension if not exists plpgsql_check with schema extensions`;
    try {
      return await sql.unsafe<Finding[]>(findingsQuery, [Object.keys(notChecked)]);
    } finally {
      await sql`drop extension plpgsql_check`;
    }
  } finally {
    await sql.end();
  }
}

export function formatFinding(finding: Finding): string {
  const where = finding.lineno === null ? finding.fn : `${finding.fn} line ${finding.lineno}`;
  const extra = [finding.detail, finding.hint].filter(Boolean).join(" ");
  return `${finding.level}: ${where}: ${finding.message} [${finding.sqlstate}]${extra ? ` (${extra})` : ""}`;
}
