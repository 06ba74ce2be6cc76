// What every provider's webhook does while the provider's API cannot confirm an event: the
// event stays failed and the provider is answered 500 so that it retries, until the fifth
// attempt marks it dead; from then on the provider is answered 200 (nothing left to retry).
import { expect } from "vitest";
import { type Sql, storedEvents } from "./payments-fixtures.ts";

/** Delivers one event six times while the API answers `apiStatus`, and checks the answers and the stored event. */
export async function expectDeadAfterFiveAttempts(
  sql: Sql,
  provider: string,
  eventPrefix: string,
  deliver: () => Response | Promise<Response>,
  apiStatus: number,
): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await deliver()).status);
  expect(statuses).toEqual([500, 500, 500, 500, 200, 200]);
  expect(await storedEvents(sql, provider, eventPrefix)).toMatchObject([{
    status: "dead",
    attempts: 5,
    last_error: expect.stringContaining(`HTTP ${apiStatus}`),
  }]);
}
