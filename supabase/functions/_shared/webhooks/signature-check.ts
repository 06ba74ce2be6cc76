// The outcome of a webhook signature check, shared by every provider's verifier.
import { HttpError } from "../errors.ts";

export type SignatureFailure =
  | "missing_header"
  | "malformed_header"
  | "mismatch"
  | "stale_timestamp"
  | "future_timestamp";

export type SignatureCheck = { ok: true } | { ok: false; reason: SignatureFailure };

export const signatureOk: SignatureCheck = { ok: true };

export function signatureFailed(reason: SignatureFailure): SignatureCheck {
  return { ok: false, reason };
}

/** Throws the 401 every webhook answers for a bad or missing signature. */
export function requireValidSignature(check: SignatureCheck): void {
  if (!check.ok) {
    throw new HttpError(401, "invalid_signature", "The request signature is missing or not valid.", { reason: check.reason });
  }
}
