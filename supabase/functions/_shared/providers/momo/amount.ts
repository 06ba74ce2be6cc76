// MoMo amounts are decimal strings in major units ("1500", "5.50"); the ledger counts integer
// minor units per ISO 4217 (UGX and RWF have none, most currencies two).
const ZERO_DECIMAL = new Set([
  "BIF",
  "CLP",
  "DJF",
  "GNF",
  "ISK",
  "JPY",
  "KMF",
  "KRW",
  "PYG",
  "RWF",
  "UGX",
  "VND",
  "VUV",
  "XAF",
  "XOF",
  "XPF",
]);
const THREE_DECIMAL = new Set(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]);

export function minorUnitDigits(currency: string): number {
  if (ZERO_DECIMAL.has(currency)) return 0;
  if (THREE_DECIMAL.has(currency)) return 3;
  return 2;
}

/** "12.5" EUR -> 1250. Throws when the amount has more decimals than the currency allows. */
export function toMinorUnits(amount: string, currency: string): number {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(amount);
  if (!match) throw new Error(`MoMo amount ${amount} is not a decimal number`);
  const digits = minorUnitDigits(currency);
  const fraction = (match[2] ?? "").replace(/0+$/, "");
  if (fraction.length > digits) throw new Error(`MoMo amount ${amount} ${currency} has more than ${digits} decimals`);
  const minor = BigInt(match[1]!) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, "0") || "0");
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`MoMo amount ${amount} ${currency} is too large`);
  return Number(minor);
}

/** 1250 EUR -> "12.50", 1500 UGX -> "1500": the decimal string MoMo expects for `minor` units. */
export function toMajorUnits(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor) || minor < 0) throw new Error(`amount ${minor} is not a whole number of minor units`);
  const digits = minorUnitDigits(currency);
  if (digits === 0) return String(minor);
  const text = String(minor).padStart(digits + 1, "0");
  return `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}
