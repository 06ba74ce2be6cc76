// The WhatsApp outbox through the admin API, in-process on the real database: admins and
// support list messages by status without their bodies; only an admin replays, only a dead
// message, once per idempotency key, audited with the admin as actor; the replayed message is
// then sent by the sender.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminCaller, createStaff, idempotencyKey, refusal, type Staff } from "../../tests/support/admin-fixtures.ts";
import { type GraphApiStandIn, startGraphApiStandIn } from "../../tests/support/graph-api-standin.ts";
import { enqueue, newWaId, outboxRow, standInSender } from "../../tests/support/whatsapp-fixtures.ts";
import { sendOutboxMessages } from "../_shared/providers/whatsapp/outbox-sender.ts";
import handler from "./handler.ts";
import { keepWhatsAppSendRunsOut } from "../../tests/support/whatsapp-send-alone.ts";

const sql = useTestSql();
keepWhatsAppSendRunsOut(sql);
let staff: Staff;
let graph: GraphApiStandIn;

beforeAll(async () => {
  staff = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
  graph = await startGraphApiStandIn();
});
afterAll(async () => {
  await graph?.close();
});

const call = adminCaller(handler);

const send = (ids: string[]) => sendOutboxMessages(standInSender(sql, graph), ids);

/** A message the Graph API refused for good (code 100): dead. */
async function deadMessage(waId: string): Promise<string> {
  const id = await enqueue(sql, waId, "a message that died");
  graph.fail(100, { to: waId });
  await send([id]);
  expect((await outboxRow(sql, id)).status).toBe("dead");
  return id;
}

describe("GET /admin/whatsapp-outbox", () => {
  it("lists by status, newest first, without bodies, for admins and support; users are refused", async () => {
    const waId = newWaId();
    const dead = await deadMessage(waId);
    const queued = await enqueue(sql, waId, "still waiting");
    for (const token of [staff.admin.token, staff.support.token]) {
      const answer = await call("GET", "/whatsapp-outbox?status=dead&limit=200", { token });
      expect(answer.status).toBe(200);
      const mine = answer.body.data.filter((m: { wa_id: string }) => m.wa_id === waId);
      expect(mine).toEqual([expect.objectContaining({ id: dead, status: "dead", purpose: "reply", kind: "text", attempts: 1 })]);
      expect(mine[0]).not.toHaveProperty("body");
    }
    const queuedList = await call("GET", "/whatsapp-outbox?status=queued&purpose=reply&limit=200", { token: staff.admin.token });
    expect(queuedList.body.data.map((m: { id: string }) => m.id)).toContain(queued);
    expect(refusal(await call("GET", "/whatsapp-outbox", { token: staff.user.token }))).toEqual({ status: 403, code: "forbidden" });
    expect((await call("GET", "/whatsapp-outbox?status=lost", { token: staff.admin.token })).status).toBe(400);
  });

  it("pages with a cursor", async () => {
    const waId = newWaId();
    for (let n = 0; n < 3; n += 1) await enqueue(sql, waId, `page ${n}`);
    const first = await call("GET", "/whatsapp-outbox?limit=2", { token: staff.admin.token });
    expect(first.body.data).toHaveLength(2);
    const second = await call("GET", `/whatsapp-outbox?limit=2&cursor=${first.body.next_cursor}`, { token: staff.admin.token });
    expect(second.body.data[0].created_at <= first.body.data[1].created_at).toBe(true);
    expect(second.body.data.map((m: { id: string }) => m.id)).not.toContain(first.body.data[1].id);
  });
});

describe("POST /admin/whatsapp-outbox/:id/replay", () => {
  it("an admin queues a dead message again once per key (audited); the sender then delivers it once", async () => {
    const waId = newWaId();
    const id = await deadMessage(waId);
    const key = idempotencyKey();
    const first = await call("POST", `/whatsapp-outbox/${id}/replay`, { token: staff.admin.token, idempotencyKey: key });
    expect(first.status).toBe(200);
    expect(first.body.message).toMatchObject({ id, status: "queued", attempts: 0 });
    const again = await call("POST", `/whatsapp-outbox/${id}/replay`, { token: staff.admin.token, idempotencyKey: key });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const [audit] = await sql<{ actor_id: string; old_status: string }[]>`
      select actor_id, old_record ->> 'status' as old_status from audit.log
       where table_name = 'whatsapp_outbox' and record_id = ${id} and new_record ->> 'status' = 'queued'`;
    expect(audit).toEqual({ actor_id: staff.admin.id, old_status: "dead" });

    expect(await send([id])).toMatchObject({ sent: 1 });
    expect(graph.deliveredTo(waId)).toHaveLength(1);
    expect((await outboxRow(sql, id)).status).toBe("sent");
  });

  it("support is refused; a message that is not dead is 409; an unknown id 404; nothing changes", async () => {
    const waId = newWaId();
    const dead = await deadMessage(waId);
    const queued = await enqueue(sql, waId, "queued");
    expect(refusal(await call("POST", `/whatsapp-outbox/${dead}/replay`, { token: staff.support.token, idempotencyKey: idempotencyKey() })))
      .toEqual({ status: 403, code: "forbidden" });
    expect(refusal(await call("POST", `/whatsapp-outbox/${queued}/replay`, { token: staff.admin.token, idempotencyKey: idempotencyKey() })))
      .toEqual({ status: 409, code: "invalid_state" });
    expect(
      refusal(
        await call("POST", `/whatsapp-outbox/${crypto.randomUUID()}/replay`, {
          token: staff.admin.token,
          idempotencyKey: idempotencyKey(),
        }),
      ),
    )
      .toEqual({ status: 404, code: "not_found" });
    expect((await outboxRow(sql, dead)).status).toBe("dead");
    expect((await outboxRow(sql, queued)).status).toBe("queued");
  });
});
