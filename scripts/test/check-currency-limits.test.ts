// The deploy's check that the currency new WhatsApp wallets open in has limits, run as the
// deploy runs it against the migrated test database: the launch currencies pass, a currency
// without the standard tier's limits stops the deploy with what to do, and no setting means
// the functions' default.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { testDatabaseUrl } from "../../supabase/tests/support/functions-env.ts";
import { repoRoot } from "./run-script.ts";

const work = mkdtempSync(join(tmpdir(), "mfuko-currency-limits-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function check(secrets: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(work, `${crypto.randomUUID()}.env`);
  writeFileSync(file, secrets);
  return new Promise((resolve) => {
    execFile(
      join(repoRoot, "node_modules/.bin/tsx"),
      ["scripts/deploy/check-currency-limits.ts", "--db-url", testDatabaseUrl, file],
      { cwd: repoRoot },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe("check-currency-limits.ts", () => {
  it("passes a currency whose tiers have limits, naming them", async () => {
    expect(await check("WHATSAPP_DEFAULT_CURRENCY=UGX\n")).toEqual({
      code: 0,
      stdout: "UGX: limits set for merchant, standard, verified\n",
      stderr: "",
    });
  });

  it("reads no setting as the functions do: RWF", async () => {
    expect((await check("WHATSAPP_API_BASE_URL=https://graph.facebook.com/v21.0\n")).stdout).toBe(
      "RWF: limits set for merchant, standard, verified\n",
    );
  });

  it("stops the deploy for a currency whose standard tier has no limits, saying how to set them", async () => {
    const result = await check("WHATSAPP_DEFAULT_CURRENCY=XPF\n");
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("WHATSAPP_DEFAULT_CURRENCY is XPF, but the standard tier has no limits in XPF");
    expect(result.stderr).toContain('PUT /admin/limits with "currency": "XPF"');
  });
});
