// How the provider clients reach their APIs: each is configured with the API's base URL
// (production, a sandbox, or a stand-in in tests) and a call timeout. The clients that call
// their API with fetch (MoMo, Revolut, the Graph API) do it through providerCall, which turns
// no answer (a network error or the timeout) into the provider's error with no status, an
// "unavailable" one, and leaves every answer, a refusal included, to the client to read.
import { type ProviderError, providerLabel, type ProviderName } from "./errors.ts";

export interface ProviderClientConfig {
  /** The API's base URL. */
  baseUrl: string;
  /** How long a call waits for an answer; 10 s when unset (PROVIDER_TIMEOUT_MS in the deployed functions). */
  timeoutMs?: number;
}

/** How long a call of the client configured with `config` waits for an answer. */
export const callTimeoutMs = (config: ProviderClientConfig): number => config.timeoutMs ?? 10_000;

/** A call of a provider's API: `path` under its base URL; `what` names the call when there was no answer. */
export type ProviderCall = (what: string, path: string, init: RequestInit) => Promise<Response>;

/**
 * The calls of `provider`'s API at `config.baseUrl` (trailing slashes dropped), each waiting
 * callTimeoutMs: no answer throws the `ApiError` of the provider's client with a null status,
 * its message naming only `what` (never a credential).
 */
export function providerCall(
  provider: ProviderName,
  config: ProviderClientConfig,
  ApiError: new (message: string, httpStatus: number | null) => ProviderError,
): ProviderCall {
  const base = config.baseUrl.replace(/\/+$/, "");
  const timeoutMs = callTimeoutMs(config);
  return async (what, path, init) => {
    try {
      return await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const cause = (error as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (error as Error).name;
      throw new ApiError(`${providerLabel[provider]} did not answer ${what}: ${cause}`, null);
    }
  };
}
