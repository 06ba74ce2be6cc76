// expire-holds: pending holds and withdrawals past their expires_at are voided
// (api_private.expire_holds, which pg_cron also runs where it is installed).
import { withRequestContext } from "../_shared/db.ts";
import type { Job } from "./job.ts";

export const expireHolds: Job = async (run) => {
  const [row] = await withRequestContext(run.sql, run.context, (tx) =>
    tx<{ voided: number }[]>`
    select api_private.expire_holds(${run.settings.batchSize}::int) as voided`);
  return { voided: row!.voided };
};
