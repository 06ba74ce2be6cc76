// The payments API's rate limit, per user, with RATE_LIMIT_PAYMENTS_PER_MIN set low: the
// requests within the limit pass, the next one is 429 with Retry-After, another user is
// unaffected, and the admin API's budget of the same user is its own.
import "../../tests/support/functions-env.ts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { clearEnvCache } from "../_shared/env.ts";
import { answerOf } from "../../tests/support/admin-fixtures.ts";
import { testSql } from "../../tests/support/payments-fixtures.ts";
import { type TopUpUser, topUpUser } from "../../tests/support/payments-gateway.ts";
import { startWithRoomInWindow } from "../../tests/support/rate-limit-probe.ts";
import handler from "./handler.ts";

const LIMIT = 2;
const previous = process.env.RATE_LIMIT_PAYMENTS_PER_MIN;
process.env.RATE_LIMIT_PAYMENTS_PER_MIN = String(LIMIT);
clearEnvCache();

const sql = testSql(process.env.MFUKO_TEST_DB_URL!);
let first: TopUpUser;
let second: TopUpUser;
beforeAll(async () => {
  first = await topUpUser(sql, "EUR");
  second = await topUpUser(sql, "EUR");
});
afterAll(async () => {
  if (previous === undefined) delete process.env.RATE_LIMIT_PAYMENTS_PER_MIN;
  else process.env.RATE_LIMIT_PAYMENTS_PER_MIN = previous;
  clearEnvCache();
  await sql.end();
});

const read = async (token: string) =>
  answerOf(
    await handler.fetch(
      new Request(`http://functions.local/payments/topups/${crypto.randomUUID()}`, {
        headers: { authorization: `Bearer ${token}` },
      }),
    ),
  );

it("answers 429 with Retry-After once a user used up the limit, and counts each user apart", async () => {
  await startWithRoomInWindow();
  for (let i = 1; i <= LIMIT; i++) {
    const answer = await read(first.token);
    expect(answer.status).toBe(404);
    expect(answer.headers.get("x-ratelimit-limit")).toBe(String(LIMIT));
    expect(answer.headers.get("x-ratelimit-remaining")).toBe(String(LIMIT - i));
  }
  const refused = await read(first.token);
  expect(refused.status).toBe(429);
  expect(refused.body.error.code).toBe("rate_limited");
  expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  expect((await read(second.token)).status).toBe(404);
});
