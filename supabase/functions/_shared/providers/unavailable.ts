// What the user-facing APIs answer when a provider did not answer a call they made for the
// caller (a top-up, a cash-out, a refund): the failure logged, and a 502 that tells the
// caller to retry with the same Idempotency-Key, which reaches the same provider request.
import { HttpError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { ProviderError } from "./errors.ts";

/** Logs `error` with the `log` fields and returns the 502 to throw, its details after the provider's name. */
export function providerUnavailable(
  logger: Logger,
  error: ProviderError,
  log: Record<string, unknown>,
  details: Record<string, unknown> = {},
): HttpError {
  logger.warn("provider_unavailable", { provider: error.provider, ...log, http_status: error.httpStatus, error: error.message });
  return new HttpError(
    502,
    "provider_unavailable",
    "The payment provider is unavailable; retry later with the same Idempotency-Key.",
    { provider: error.provider, ...details },
  );
}
