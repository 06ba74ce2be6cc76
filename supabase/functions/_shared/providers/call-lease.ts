// How long a lease must hold an item while a provider is asked about it: each call may take up
// to PROVIDER_TIMEOUT_MS, and a lease that runs out while one is still waiting lets another
// runner take the item and ask again (a message sent twice, a key's work run twice).
import { env } from "../env.ts";

/**
 * Seconds covering `calls` provider calls of up to PROVIDER_TIMEOUT_MS each and `marginSeconds`
 * for the database steps around them, or `atLeast` when that is longer.
 */
export function leaseOutlastingCalls(calls: number, marginSeconds: number, atLeast: number): number {
  const { PROVIDER_TIMEOUT_MS } = env("PROVIDER_TIMEOUT_MS");
  return Math.max(atLeast, Math.ceil((calls * PROVIDER_TIMEOUT_MS) / 1000) + marginSeconds);
}
