// What went wrong when a provider was called, in the two kinds that callers treat differently:
// "declined" (the provider answered and refused: a 4xx with its reason; retrying the same call
// gives the same refusal) and "unavailable" (no answer, a timeout, a 5xx, or a refusal that is
// ours to fix such as rejected credentials or a rate limit; the same call may succeed later).
// Messages name the provider, the call and the status, never a credential.

export type ProviderName = "stripe" | "momo" | "revolut" | "whatsapp" | "supabase_auth";
export type ProviderFailureKind = "declined" | "unavailable";

export class ProviderError extends Error {
  constructor(
    readonly provider: ProviderName,
    message: string,
    /** The provider's HTTP status, null when it did not answer. */
    readonly httpStatus: number | null,
    /** The provider's own code or reason (e.g. card_declined, PAYER_NOT_FOUND), when it gave one. */
    readonly reason: string | null = null,
  ) {
    super(message);
    this.name = new.target.name;
  }

  get kind(): ProviderFailureKind {
    return failureKind(this.httpStatus);
  }
}

/** The error class of one provider's client: a ProviderError naming `provider`, e.g. `class MomoApiError extends providerError("momo") {}`. */
export function providerError(provider: ProviderName) {
  return class extends ProviderError {
    constructor(message: string, httpStatus: number | null, reason: string | null = null) {
      super(provider, message, httpStatus, reason);
    }
  };
}

type ProviderErrorClass = new (message: string, httpStatus: number | null, reason?: string | null) => ProviderError;

/**
 * A subclass of a provider's error class whose errors are "unavailable" whatever their status:
 * for an answer that says nothing about the payment although it is a 4xx (a request still
 * running at the provider, a gateway's 404), so that no caller takes it for a refusal.
 */
export function alwaysUnavailable(Base: ProviderErrorClass) {
  return class extends Base {
    override get kind(): ProviderFailureKind {
      return "unavailable";
    }
  };
}

// Our credentials (401, 403), a timeout on their side (408) or their rate limit (429) say
// nothing about the payment: the same request can succeed once that is fixed.
const RETRYABLE_4XX = new Set([401, 403, 408, 429]);

/** "declined" for a provider's 4xx refusal, "unavailable" for no answer, a 5xx or a retryable 4xx. */
export function failureKind(httpStatus: number | null): ProviderFailureKind {
  if (httpStatus === null || httpStatus >= 500 || RETRYABLE_4XX.has(httpStatus)) return "unavailable";
  return httpStatus >= 400 ? "declined" : "unavailable";
}

/** A provider's name as people read it, in messages. */
export const providerLabel: Record<ProviderName, string> = {
  stripe: "Stripe",
  momo: "MoMo",
  revolut: "Revolut",
  whatsapp: "The Graph API",
  supabase_auth: "The Auth Admin API",
};

// What a payment's row keeps of a provider's reason: the SQL bound of a reason written with a
// payment's outcome (kind 'description', e.g. cashouts.reason); a longer one would be refused
// (22023) and the outcome never applied.
const REASON_MAX_CHARS = 500;

/** A provider's reason cut to what a payment's row keeps, by characters (never half of one). */
export function storableReason(reason: string): string {
  return reason.length <= REASON_MAX_CHARS ? reason : Array.from(reason).slice(0, REASON_MAX_CHARS).join("");
}

/** The provider's error code or message from a JSON error body, bounded for storage. */
export async function providerReason(response: Response): Promise<string | null> {
  const body = await response.json().catch(() => null) as Record<string, unknown> | null;
  if (!body || typeof body !== "object") return null;
  const nested = typeof body.error === "object" && body.error !== null ? body.error as Record<string, unknown> : body;
  const reason = [nested.code, nested.message].filter((part) => typeof part === "string" && part !== "").join(": ");
  return reason === "" ? null : storableReason(reason);
}
