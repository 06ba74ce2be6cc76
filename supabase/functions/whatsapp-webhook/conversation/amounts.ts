// Amounts in the conversation are written and read in major units ("12.50 EUR", "5,000 UGX");
// the ledger counts integer minor units by the currency's ISO 4217 exponent.
import { minorUnitDigits } from "../../_shared/providers/momo/amount.ts";

export type AmountReading = { ok: true; minor: number } | { ok: false; problem: "zero" | "too_precise" | "too_large" };

/** `typed` ("12.5", no separators) in minor units of `currency`. */
export function toMinor(typed: string, currency: string): AmountReading {
  const [whole = "", fraction = ""] = typed.split(".");
  const digits = minorUnitDigits(currency);
  const significant = fraction.replace(/0+$/, "");
  if (significant.length > digits) return { ok: false, problem: "too_precise" };
  const minor = BigInt(whole || "0") * 10n ** BigInt(digits) + BigInt(significant.padEnd(digits, "0") || "0");
  if (minor === 0n) return { ok: false, problem: "zero" };
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, problem: "too_large" };
  return { ok: true, minor: Number(minor) };
}

/** 500000 UGX -> "500,000 UGX"; 1250 EUR -> "12.50 EUR". */
export function formatMoney(minor: number | bigint, currency: string): string {
  const value = BigInt(minor);
  const sign = value < 0n ? "-" : "";
  const digits = minorUnitDigits(currency);
  const text = (value < 0n ? -value : value).toString().padStart(digits + 1, "0");
  const whole = text.slice(0, text.length - digits).replace(/\B(?=(\d{3})+$)/g, ",");
  return `${sign}${whole}${digits > 0 ? `.${text.slice(-digits)}` : ""} ${currency}`;
}
