// expire-intents: intents still waiting for a payment after their TTL become canceled
// (api_private.expire_intents). A provider payment that arrives later goes to review.
import { withRequestContext } from "../_shared/db.ts";
import type { Job } from "./job.ts";

export const expireIntents: Job = async (run) => {
  const [row] = await withRequestContext(run.sql, run.context, (tx) =>
    tx<{ canceled: number }[]>`
    select api_private.expire_intents(${run.settings.intentTtlSeconds}::int, ${run.settings.batchSize}::int) as canceled`);
  return { canceled: row!.canceled };
};
