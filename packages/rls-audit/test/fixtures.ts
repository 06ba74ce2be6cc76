// One fixture per check: SQL with the flaw, the clean twin that fixes it, and the findings the
// flawed SQL must produce. All flawed parts go into one database and all clean parts into
// another; the clean database must produce no finding at all. Where the twins share their
// tables, `twins` writes the shared SQL once and each twin only what differs.
import type { Severity } from "../src/checks.ts";

export interface Fixture {
  check: string;
  flawed: string;
  clean: string;
  expected: { severity: Severity; object: string }[];
}

/** Created in both databases before the fixtures: a schema PostgREST does not expose. */
export const preamble = "create schema app_private;";

/** A fixture whose flawed and clean SQL both begin with `common`. */
function twins({ common, ...fixture }: Fixture & { common: string }): Fixture {
  return { ...fixture, flawed: common + fixture.flawed, clean: common + fixture.clean };
}

/** Table `name` with an owner column, row level security on and the owner indexed. */
function ownedTable(name: string): string {
  return `
      create table ${name} (id int primary key, owner_id uuid);
      alter table ${name} enable row level security;
      create index on ${name} (owner_id);`;
}

/** A user's table `name` (uuid ids): row level security on, each user reading their rows (policy `policy`), the user indexed. */
function userTable(name: string, policy: string): string {
  return `
      create table ${name} (id uuid primary key, user_id uuid);
      alter table ${name} enable row level security;
      create policy ${policy} on ${name} for select to authenticated using (user_id = (select auth.uid()));
      create index on ${name} (user_id);`;
}

/** Roles are cluster-wide: the test creates them only around the audit that needs them. */
export function roleFixture(suffix: string): Fixture {
  return {
    check: "bypassrls-role",
    flawed: `create role rls_audit_fixture_bypass_${suffix} nologin bypassrls;`,
    clean: `create role rls_audit_fixture_plain_${suffix} nologin;`,
    expected: [{ severity: "error", object: `rls_audit_fixture_bypass_${suffix}` }],
  };
}

export const fixtures: Fixture[] = [
  twins({
    check: "rls-disabled",
    common: `
      create table public.rd_parts (id int primary key, owner_id uuid) partition by range (id);
      alter table public.rd_parts enable row level security;
      create policy rd_parts_own on public.rd_parts for select to authenticated using (owner_id = (select auth.uid()));
      create index on public.rd_parts (owner_id);
      create table public.rd_parts_1 partition of public.rd_parts for values from (0) to (100);`,
    flawed: `
      create table public.rd_open (id int primary key);`,
    clean: ownedTable("public.rd_closed") + `
      create policy rd_closed_own on public.rd_closed for select to authenticated using (owner_id = (select auth.uid()));
      alter table public.rd_parts_1 enable row level security;
      revoke all on public.rd_parts_1 from anon, authenticated;`,
    expected: [
      { severity: "error", object: "public.rd_open" },
      { severity: "error", object: "public.rd_parts_1" },
    ],
  }),
  {
    check: "rls-no-policy",
    flawed: `
      create table public.np_locked (id int primary key);
      alter table public.np_locked enable row level security;`,
    clean: `
      create table public.np_service_only (id int primary key);
      alter table public.np_service_only enable row level security;
      revoke all on public.np_service_only from anon, authenticated;`,
    expected: [{ severity: "warn", object: "public.np_locked" }],
  },
  twins({
    check: "policy-rls-disabled",
    common: `
      create table app_private.pd_notes (id int primary key, owner_id uuid);
      create index on app_private.pd_notes (owner_id);`,
    flawed: `
      create policy pd_own on app_private.pd_notes for select to authenticated using (owner_id = (select auth.uid()));`,
    clean: `
      alter table app_private.pd_notes enable row level security;
      create policy pd_own on app_private.pd_notes for select to authenticated using (owner_id = (select auth.uid()));`,
    expected: [{ severity: "error", object: "app_private.pd_notes" }],
  }),
  twins({
    check: "force-rls-missing",
    common: userTable("public.payments", "payments_own") + `
      revoke all on public.payments from anon;`,
    flawed: "",
    clean: `
      alter table public.payments force row level security;`,
    expected: [{ severity: "error", object: "public.payments" }],
  }),
  twins({
    check: "policy-always-true",
    common: ownedTable("public.at_posts"),
    flawed: `
      create policy at_read on public.at_posts for select to anon using (true);
      create policy at_write on public.at_posts for insert to authenticated with check (1 = 1);
      create policy at_change on public.at_posts for update to authenticated using (owner_id = (select auth.uid()))
        with check (true);`,
    clean: `
      create policy at_read on public.at_posts for select to authenticated using (owner_id = (select auth.uid()));
      create policy at_write on public.at_posts for insert to authenticated with check (owner_id = (select auth.uid()));
      create policy at_change on public.at_posts for update to authenticated using (owner_id = (select auth.uid()))
        with check (owner_id = (select auth.uid()));`,
    expected: [
      { severity: "warn", object: "public.at_posts.at_read" },
      { severity: "error", object: "public.at_posts.at_write" },
      { severity: "error", object: "public.at_posts.at_change" },
    ],
  }),
  twins({
    check: "policy-user-metadata",
    common: ownedTable("public.um_docs"),
    flawed: `
      create function app_private.um_is_editor() returns boolean language sql stable security definer
        set search_path = '' as $$ select coalesce((select u.raw_user_meta_data ->> 'role' = 'editor'
          from auth.users u where u.id = (select auth.uid())), false) $$;
      create policy um_admin on public.um_docs for select to authenticated
        using ((select auth.jwt() -> 'user_metadata' ->> 'role') = 'admin');
      create policy um_editor on public.um_docs for update to authenticated
        using ((select app_private.um_is_editor()) and owner_id = (select auth.uid()));`,
    clean: `
      create function app_private.um_is_editor() returns boolean language sql stable security definer
        set search_path = '' as $$ select coalesce((select auth.jwt() -> 'app_metadata' ->> 'role') = 'editor', false) $$;
      create policy um_admin on public.um_docs for select to authenticated
        using ((select auth.jwt() -> 'app_metadata' ->> 'role') = 'admin');
      create policy um_editor on public.um_docs for update to authenticated
        using ((select app_private.um_is_editor()) and owner_id = (select auth.uid()));`,
    expected: [
      { severity: "error", object: "public.um_docs.um_admin" },
      { severity: "error", object: "public.um_docs.um_editor" },
    ],
  }),
  twins({
    check: "policy-missing-to",
    common: ownedTable("public.mt_items"),
    flawed: `
      create policy mt_own on public.mt_items for select using (owner_id = (select auth.uid()));`,
    clean: `
      create policy mt_own on public.mt_items for select to authenticated using (owner_id = (select auth.uid()));`,
    expected: [{ severity: "warn", object: "public.mt_items.mt_own" }],
  }),
  twins({
    check: "anon-financial-privilege",
    common: userTable("public.refunds", "refunds_own") + `
      alter table public.refunds force row level security;`,
    flawed: "",
    clean: `
      revoke all on public.refunds from anon;`,
    expected: [{ severity: "error", object: "public.refunds" }],
  }),
  twins({
    check: "ledger-write-privilege",
    common: `
      create table public.wallet_entries (id bigint primary key, account_id uuid, amount bigint);
      alter table public.wallet_entries enable row level security;
      alter table public.wallet_entries force row level security;
      create policy entries_read on public.wallet_entries for select to authenticated
        using (account_id = (select (auth.jwt() ->> 'account')::uuid));
      create index on public.wallet_entries (account_id);`,
    flawed: `
      revoke all on public.wallet_entries from anon;`,
    clean: `
      revoke all on public.wallet_entries from anon, authenticated, service_role;
      grant select on public.wallet_entries to authenticated, service_role;`,
    expected: [{ severity: "error", object: "public.wallet_entries" }],
  }),
  twins({
    check: "view-bypasses-rls",
    common: ownedTable("public.vb_notes") + `
      create policy vb_own on public.vb_notes for select to authenticated using (owner_id = (select auth.uid()));`,
    flawed: `
      create view public.vb_all_notes as select id from public.vb_notes;
      create view public.vb_nested as select id from public.vb_all_notes;`,
    clean: `
      create view public.vb_all_notes with (security_invoker = true) as select id from public.vb_notes;
      create view public.vb_nested with (security_invoker = true) as select id from public.vb_all_notes;`,
    expected: [
      { severity: "error", object: "public.vb_all_notes" },
      { severity: "error", object: "public.vb_nested" },
    ],
  }),
  {
    check: "auth-users-exposed",
    flawed: `
      create view public.au_people as select id, email from auth.users;
      create materialized view public.au_snapshot as select id, email from auth.users;`,
    clean: `
      create view public.au_people with (security_invoker = true) as
        select id, email from auth.users where id = (select auth.uid());
      create materialized view app_private.au_snapshot as select id, email from auth.users;`,
    expected: [
      { severity: "error", object: "public.au_people" },
      { severity: "error", object: "public.au_snapshot" },
    ],
  },
  twins({
    check: "matview-foreign-table-exposed",
    common: `
      create materialized view public.mf_totals as select 1 as n;
      create foreign data wrapper mf_wrapper;
      create server mf_server foreign data wrapper mf_wrapper;
      create foreign table public.mf_remote (id int) server mf_server;`,
    flawed: "",
    clean: `
      revoke all on public.mf_totals from anon, authenticated;
      revoke all on public.mf_remote from anon, authenticated;`,
    expected: [
      { severity: "warn", object: "public.mf_totals" },
      { severity: "warn", object: "public.mf_remote" },
    ],
  }),
  {
    check: "secdef-search-path-missing",
    flawed: `create function app_private.sm_count() returns bigint language sql security definer
      as $$ select count(*) from auth.users $$;`,
    clean: `create function app_private.sm_count() returns bigint language sql security definer
      set search_path = '' as $$ select count(*) from auth.users $$;`,
    expected: [{ severity: "error", object: "app_private.sm_count()" }],
  },
  {
    check: "secdef-search-path-unsafe",
    flawed: `create function app_private.su_count() returns bigint language sql security definer
      set search_path = public as $$ select count(*) from auth.users $$;`,
    clean: `create function app_private.su_count() returns bigint language sql security definer
      set search_path = pg_catalog, pg_temp as $$ select count(*) from auth.users $$;`,
    expected: [{ severity: "warn", object: "app_private.su_count()" }],
  },
  {
    check: "secdef-executable",
    flawed: `
      create function public.se_open(p_id int) returns int language sql security definer
        set search_path = '' as $$ select p_id $$;
      create function public.se_members(p_id int) returns int language sql security definer
        set search_path = '' as $$ select p_id $$;
      revoke execute on function public.se_members(int) from public, anon;`,
    clean: `
      create function public.se_open(p_id int) returns int language sql security definer
        set search_path = '' as $$ select p_id $$;
      revoke execute on function public.se_open(int) from public, anon, authenticated;
      grant execute on function public.se_open(int) to service_role;
      create function public.se_members(p_id int) returns int language sql security invoker
        set search_path = '' as $$ select p_id $$;`,
    expected: [
      { severity: "error", object: "public.se_open(p_id integer)" },
      { severity: "warn", object: "public.se_members(p_id integer)" },
    ],
  },
  {
    check: "function-search-path-mutable",
    flawed: `create function app_private.fm_double(p int) returns int language sql immutable as $$ select p * 2 $$;`,
    clean: `create function app_private.fm_double(p int) returns int language sql immutable
      set search_path = '' as $$ select p * 2 $$;`,
    expected: [{ severity: "warn", object: "app_private.fm_double(p integer)" }],
  },
  twins({
    check: "policy-per-row-call",
    common: `
      create table public.pr_orders (id int primary key, owner_id uuid, tenant text);
      alter table public.pr_orders enable row level security;
      create index on public.pr_orders (owner_id);
      create index on public.pr_orders (tenant);`,
    flawed: `
      create policy pr_own on public.pr_orders for select to authenticated
        using (owner_id = auth.uid());
      create policy pr_mixed on public.pr_orders for update to authenticated
        using (owner_id = (select auth.uid()) or tenant = auth.uid()::text);
      create policy pr_tenant on public.pr_orders for delete to authenticated
        using (tenant = current_setting('app.tenant', true));`,
    clean: `
      create policy pr_own on public.pr_orders for select to authenticated
        using (owner_id = (select auth.uid()));
      create policy pr_mixed on public.pr_orders for update to authenticated
        using (owner_id = (select auth.uid()) or tenant = (select auth.uid())::text);
      create policy pr_tenant on public.pr_orders for delete to authenticated
        using (tenant = (select current_setting('app.tenant', true)));`,
    expected: [
      { severity: "warn", object: "public.pr_orders.pr_own" },
      { severity: "warn", object: "public.pr_orders.pr_mixed" },
      { severity: "warn", object: "public.pr_orders.pr_tenant" },
    ],
  }),
  twins({
    check: "policy-column-unindexed",
    common: `
      create table public.pc_accounts (id int primary key, owner_id uuid);
      create table public.pc_moves (id int primary key, account_id int references public.pc_accounts);
      alter table public.pc_accounts enable row level security;
      alter table public.pc_moves enable row level security;
      create policy pc_own on public.pc_accounts for select to authenticated using (owner_id = (select auth.uid()));
      create policy pc_moves_own on public.pc_moves for select to authenticated using (
        account_id in (select a.id from public.pc_accounts a where a.owner_id = (select auth.uid())));
      create policy pc_open on public.pc_accounts for insert to authenticated with check (owner_id = (select auth.uid()));`,
    flawed: "",
    clean: `
      create index on public.pc_accounts (owner_id);
      create index on public.pc_moves (account_id, id desc);`,
    expected: [
      { severity: "warn", object: "public.pc_accounts.owner_id" },
      { severity: "warn", object: "public.pc_moves.account_id" },
    ],
  }),
  {
    check: "extension-in-public",
    flawed: "create extension citext schema public;",
    clean: "create extension citext schema extensions;",
    expected: [{ severity: "warn", object: "public.citext" }],
  },
];
