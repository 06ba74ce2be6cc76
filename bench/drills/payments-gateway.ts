// The payments gateway (the functions with the provider stand-ins) a drill runs against:
// started with the drill's environment and stopped when the drill ends. The gateway support is
// imported only once the test database URL is set, because it reads it on import.
import type postgres from "postgres";
import type { DrillReport } from "./report.ts";

export type GatewaySupport = typeof import("../../supabase/tests/support/payments-gateway.ts");
export type Gateway = Awaited<ReturnType<GatewaySupport["startPaymentsGateway"]>>;

export interface DrillOptions {
  dbUrl: string;
  env: Record<string, string>;
}

/** Runs `drill` against a gateway started with `options.env` and `env`, and stops the gateway after it. */
export async function withPaymentsGateway(
  sql: postgres.Sql,
  options: DrillOptions,
  env: Record<string, string>,
  drill: (sql: postgres.Sql, gateway: Gateway, support: GatewaySupport) => Promise<DrillReport>,
): Promise<DrillReport> {
  process.env.MFUKO_TEST_DB_URL = options.dbUrl;
  const support: GatewaySupport = await import("../../supabase/tests/support/payments-gateway.ts");
  const gateway = await support.startPaymentsGateway({ ...options.env, ...env });
  try {
    return await drill(sql, gateway, support);
  } finally {
    await gateway.stop();
  }
}
