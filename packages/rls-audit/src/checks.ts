// What each check in sql/rls-audit.sql looks for, in words: the rule catalogue of the SARIF
// report and of docs/RLS_AUDIT.md. The SQL decides the findings; a test keeps the two lists equal.
export type Severity = "error" | "warn" | "info";

export interface CheckDescription {
  id: string;
  title: string;
  severity: string;
  help: string;
}

export const checks: readonly CheckDescription[] = [
  {
    id: "rls-disabled",
    title: "Table or partition in an exposed schema with RLS disabled",
    severity: "error",
    help:
      "Every table and partition in a schema PostgREST exposes needs row level security; a partition queried directly ignores its parent's policies.",
  },
  {
    id: "rls-no-policy",
    title: "RLS enabled, API roles hold privileges, no policy",
    severity: "warn",
    help:
      "anon or authenticated may query the table but no policy lets a row through. Add policies, or revoke the API roles' privileges when only service_role uses the table.",
  },
  {
    id: "policy-rls-disabled",
    title: "Policies exist but RLS is disabled",
    severity: "error",
    help: "Policies only apply once row level security is enabled; until then the table is open to every role with a grant.",
  },
  {
    id: "force-rls-missing",
    title: "Financial table without FORCE ROW LEVEL SECURITY",
    severity: "error",
    help: "Without FORCE the table owner bypasses every policy, including functions owned by that role.",
  },
  {
    id: "policy-always-true",
    title: "Policy for anon, authenticated or public whose USING or WITH CHECK is constant true",
    severity: "error on write commands, warn on SELECT",
    help: "A permissive policy with a constant true condition lets every row through for its roles: it is a grant, not a policy.",
  },
  {
    id: "policy-user-metadata",
    title: "Policy reads user_metadata",
    severity: "error",
    help:
      "Users can edit their own user_metadata (raw_user_meta_data); authorisation must read app_metadata, which only the service role can change.",
  },
  {
    id: "policy-missing-to",
    title: "Policy without a TO role list",
    severity: "warn",
    help: "A policy without TO applies to public, so anon evaluates it too; name the roles it is for.",
  },
  {
    id: "anon-financial-privilege",
    title: "anon holds a privilege on a financial table",
    severity: "error",
    help: "Callers without a user JWT have no business on financial tables; revoke everything from anon and public.",
  },
  {
    id: "ledger-write-privilege",
    title: "API role can write an append-only ledger table",
    severity: "error",
    help:
      "Ledger tables change only through the wallet functions; anon, authenticated and service_role must not hold INSERT, UPDATE, DELETE or TRUNCATE on them.",
  },
  {
    id: "view-bypasses-rls",
    title: "View without security_invoker reads an RLS table",
    severity: "error",
    help: "A view runs with its owner's rights unless security_invoker is set, so API callers read the underlying table past its policies.",
  },
  {
    id: "auth-users-exposed",
    title: "View or materialized view exposes auth.users to anon or authenticated",
    severity: "error",
    help: "auth.users holds every user's email, phone and metadata; a view with its owner's rights hands them to the API.",
  },
  {
    id: "matview-foreign-table-exposed",
    title: "Materialized view or foreign table readable through the API",
    severity: "warn",
    help: "Materialized views and foreign tables cannot have row level security; keep them out of the API roles' reach.",
  },
  {
    id: "secdef-search-path-missing",
    title: "security definer function without a fixed search_path",
    severity: "error",
    help:
      "The caller's search_path decides which objects the function resolves while it runs with its owner's rights; set search_path = '' and qualify names.",
  },
  {
    id: "secdef-search-path-unsafe",
    title: "security definer function whose search_path can be hijacked",
    severity: "warn",
    help:
      "The fixed search_path lists a schema the API roles can create objects in, or does not end with pg_temp, so a session can shadow the objects the function uses.",
  },
  {
    id: "secdef-executable",
    title: "security definer function in an exposed schema executable by the API",
    severity: "error for anon or public, warn for authenticated",
    help:
      "Functions in an exposed schema are callable through /rest/v1/rpc; a security definer one runs with its owner's rights, so only the roles it checks for may execute it.",
  },
  {
    id: "function-search-path-mutable",
    title: "Function with a mutable search_path",
    severity: "warn",
    help: "A function without a fixed search_path resolves names through the caller's search_path; set search_path = ''.",
  },
  {
    id: "bypassrls-role",
    title: "Role other than service_role, postgres or supabase_admin bypasses RLS",
    severity: "error",
    help: "BYPASSRLS (or superuser) skips every policy; only the platform's own roles may have it.",
  },
  {
    id: "policy-per-row-call",
    title: "Policy calls auth.uid(), auth.jwt() or current_setting() per row",
    severity: "warn",
    help: "Wrapped in (select ...) the call runs once per statement as an initPlan; bare, it runs for every row scanned.",
  },
  {
    id: "policy-column-unindexed",
    title: "Column a policy filters by has no index",
    severity: "warn",
    help: "Each policy condition is added to every query; without an index starting with the column, each query scans the table.",
  },
  {
    id: "extension-in-public",
    title: "Extension installed in an exposed schema",
    severity: "warn",
    help: "An extension's functions and tables in an exposed schema become part of the API; install extensions in schema extensions.",
  },
];

export const severityRank: Record<Severity, number> = { info: 1, warn: 2, error: 3 };
