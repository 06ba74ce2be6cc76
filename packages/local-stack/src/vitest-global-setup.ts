// Lets `vitest` run on its own: when `npm test` has not provided a stack (MFUKO_TEST_DB_URL),
// start a throwaway one for this run and stop it afterwards.
import { startThrowawayStack, suiteWebhookLimits, testEnvironment } from "./throwaway-stack.ts";

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.MFUKO_TEST_DB_URL) return undefined;
  const stack = await startThrowawayStack({ durable: false, functionsEnv: suiteWebhookLimits });
  Object.assign(process.env, testEnvironment(stack));
  return () => stack.stop();
}
