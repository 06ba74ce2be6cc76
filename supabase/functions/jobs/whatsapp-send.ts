// whatsapp-send: the outbox messages that are due (queued and past their backoff, or leased
// by a sender that died) are sent by sendOutboxMessages, up to the batch size per run. The
// webhook sends its own replies right after commit; this job retries the rest.
import { withRequestContext } from "../_shared/db.ts";
import { sendOutboxMessages } from "../_shared/providers/whatsapp/outbox-sender.ts";
import type { Job } from "./job.ts";

export const whatsAppSend: Job = async (run) => {
  const due = await withRequestContext(run.sql, run.context, (tx) =>
    tx<{ id: string }[]>`
    select id from private.whatsapp_outbox_due(${run.settings.batchSize}::int) as due (id)`);
  const counts = await sendOutboxMessages(
    { sql: run.sql, context: run.context, logger: run.logger, whatsapp: run.whatsapp() },
    due.map((row) => row.id),
  );
  return { due: due.length, ...counts };
};
