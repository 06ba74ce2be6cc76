// The admin API's rate limit, per admin, with RATE_LIMIT_ADMIN_PER_MIN set low: the requests
// within the limit pass, the next one is 429 with Retry-After, and another admin is unaffected.
import { useTestSql } from "../../tests/support/test-sql.ts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { clearEnvCache } from "../_shared/env.ts";
import { adminRequest, answerOf, createStaff, type Staff } from "../../tests/support/admin-fixtures.ts";
import { startWithRoomInWindow } from "../../tests/support/rate-limit-probe.ts";
import handler from "./handler.ts";

const LIMIT = 3;
const previous = process.env.RATE_LIMIT_ADMIN_PER_MIN;
process.env.RATE_LIMIT_ADMIN_PER_MIN = String(LIMIT);
clearEnvCache();

const sql = useTestSql();
let first: Staff;
let second: Staff;
beforeAll(async () => {
  first = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
  second = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
});
afterAll(() => {
  if (previous === undefined) delete process.env.RATE_LIMIT_ADMIN_PER_MIN;
  else process.env.RATE_LIMIT_ADMIN_PER_MIN = previous;
  clearEnvCache();
});

const list = async (token: string) =>
  answerOf(await handler.fetch(adminRequest("http://functions.local", "GET", "/admin/accounts?limit=1", { token })));

it("answers 429 with Retry-After once an admin used up the limit, and counts each admin apart", async () => {
  await startWithRoomInWindow();
  for (let i = 1; i <= LIMIT; i++) {
    const answer = await list(first.admin.token);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-ratelimit-limit")).toBe(String(LIMIT));
    expect(answer.headers.get("x-ratelimit-remaining")).toBe(String(LIMIT - i));
  }
  const refused = await list(first.admin.token);
  expect(refused.status).toBe(429);
  expect(refused.body.error.code).toBe("rate_limited");
  const retryAfter = Number(refused.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");

  expect((await list(second.admin.token)).status).toBe(200);
});
