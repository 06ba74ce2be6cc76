// Checks, after the migrations, that the target database has limits for the currency the
// functions' secrets make every WhatsApp first contact's wallet in (WHATSAPP_DEFAULT_CURRENCY):
// without its standard tier's limits, every new person could receive money but pay nobody
// (docs/LEDGER.md, "Limits per tier"). Prints the tiers that have limits, or the problem.
//
//   tsx scripts/deploy/check-currency-limits.ts --db-url <postgres URL> <secrets file>
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { envSchema } from "../../supabase/functions/_shared/env.ts";
import { parseEnvFile } from "./check-secrets.ts";

/** The currency first contacts' wallets open in, as the functions will read it from `secrets`. */
function defaultCurrency(secrets: Map<string, string>): string {
  return envSchema.WHATSAPP_DEFAULT_CURRENCY.parse(secrets.get("WHATSAPP_DEFAULT_CURRENCY") || undefined);
}

/** The tiers with limits in `currency`, and the problem when new accounts (standard) have none. */
async function currencyLimits(
  sql: postgres.Sql,
  currency: string,
): Promise<{ tiers: string[]; problem: string | null }> {
  const rows = await sql<{ tier: string }[]>`
    select tier from public.wallet_tier_limits where currency = ${currency} order by tier`;
  const tiers = rows.map((row) => row.tier);
  const problem = tiers.includes("standard") ? null : `WHATSAPP_DEFAULT_CURRENCY is ${currency}, but the standard tier has no limits in ` +
    `${currency}: every new WhatsApp wallet could receive and not pay. Set them first (PUT /admin/limits with ` +
    `"currency": "${currency}"), or choose a currency that has them.`;
  return { tiers, problem };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { "db-url": { type: "string" } }, allowPositionals: true });
  if (!values["db-url"] || positionals.length !== 1) {
    console.error("usage: tsx scripts/deploy/check-currency-limits.ts --db-url <postgres URL> <secrets file>");
    process.exit(2);
  }
  const currency = defaultCurrency(parseEnvFile(readFileSync(positionals[0]!, "utf8")));
  const sql = postgres(values["db-url"], { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    const { tiers, problem } = await currencyLimits(sql, currency);
    if (problem) {
      console.error(`   ${problem}`);
      process.exitCode = 1;
    } else {
      console.log(`${currency}: limits set for ${tiers.join(", ")}`);
    }
  } finally {
    await sql.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
