// Option and allow-list validation in-process; cli.test.ts proves the CLI turns these errors
// into exit code 2.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { AllowListError, applyAllowList, loadAllowList } from "../src/allow-list.ts";
import type { Finding } from "../src/finding.ts";
import { parseOptions, UsageError } from "../src/options.ts";

const url = ["--db-url", "postgresql://x@127.0.0.1/x"];

describe("parseOptions", () => {
  test("defaults: table, fail on error, DATABASE_URL, no overrides", () => {
    expect(parseOptions([], { DATABASE_URL: "postgresql://env@127.0.0.1/db" })).toEqual({
      help: false,
      dbUrl: "postgresql://env@127.0.0.1/db",
      format: "table",
      failOn: "error",
      schemas: null,
      financialTables: null,
      appendOnly: null,
      bypassRlsRoles: null,
      allowList: null,
      output: null,
    });
  });

  test("lists are split, trimmed and validated", () => {
    const o = parseOptions([...url, "--schemas", "public, api", "--financial-tables", "payments,ledger.entries"], {});
    expect(o.schemas).toEqual(["public", "api"]);
    expect(o.financialTables).toEqual(["payments", "ledger.entries"]);
  });

  test.each([
    [["--format", "xml", ...url], "--format must be one of table, json, markdown, sarif"],
    [["--fail-on", "fatal", ...url], "--fail-on must be one of error, warn, info, none"],
    [["--schemas", "public;drop", ...url], "not a valid schema or role name"],
    [["--schemas", "a.b", ...url], "not a valid schema or role name"],
    [["--bypassrls-roles", "etl reader", ...url], "not a valid schema or role name"],
    [["--financial-tables", ",", ...url], "needs at least one name"],
    [["--financial-tables", "a.b.c", ...url], "not a valid table or schema.table name"],
    [["--bogus", ...url], "Unknown option"],
    [["positional", ...url], "Unexpected argument"],
    [[], "no database: pass --db-url or set DATABASE_URL"],
  ])("rejects %j", (args, message) => {
    expect(() => parseOptions(args, {})).toThrow(UsageError);
    expect(() => parseOptions(args, {})).toThrow(message);
  });

  test("--help needs no database", () => {
    expect(parseOptions(["--help"], {}).help).toBe(true);
  });
});

describe("allow-list", () => {
  const dir = mkdtempSync(join(tmpdir(), "rls-audit-allow-"));
  const write = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const finding = (check: string, schema: string | null, object: string): Finding => ({
    check,
    severity: "warn",
    schema,
    object,
    detail: "d",
    remediation: "r",
    accepted: false,
    reason: null,
  });

  test.each([
    ["not JSON", "{", "is not valid JSON"],
    [
      "an unknown check",
      JSON.stringify({ accepted: [{ check: "rls-off", object: "public.t", reason: "long enough reason" }] }),
      "unknown check id",
    ],
    ["a short reason", JSON.stringify({ accepted: [{ check: "rls-disabled", object: "public.t", reason: "ok" }] }), "reason"],
    ["an unknown field", JSON.stringify({ accepted: [], extra: 1 }), "extra"],
  ])("rejects a file with %s", (_, content, message) => {
    const path = write(`${message}.json`, content);
    expect(() => loadAllowList(path)).toThrow(AllowListError);
    expect(() => loadAllowList(path)).toThrow(message);
  });

  test("a missing file is an AllowListError", () => {
    expect(() => loadAllowList(join(dir, "absent.json"))).toThrow(/cannot read allow-list/);
  });

  test("matches check and qualified object; a function name covers its overloads; roles have no schema", () => {
    const findings = [
      finding("secdef-executable", "public", "wallet_transfer(p_from uuid)"),
      finding("secdef-executable", "public", "wallet_transfer_batch(p jsonb)"),
      finding("rls-disabled", "public", "wallet_transfer"),
      finding("bypassrls-role", null, "etl_reader"),
    ];
    const stale = applyAllowList(findings, [
      { check: "secdef-executable", object: "public.wallet_transfer", reason: "checks ownership itself" },
      { check: "bypassrls-role", object: "etl_reader", reason: "read replica exporter" },
      { check: "policy-missing-to", object: "public.gone", reason: "no longer exists" },
    ]);
    expect(findings.map((f) => f.accepted)).toEqual([true, false, false, true]);
    expect(findings[0].reason).toBe("checks ownership itself");
    expect(stale.map((e) => e.object)).toEqual(["public.gone"]);
  });
});
