// The ledger counts amounts in ISO 4217 minor units, and Stripe's API in the currency's
// smallest unit as Stripe defines it. The two differ for:
// - ISK: ISO 4217 gives the króna no minor unit, while Stripe keeps ISK two-decimal (an amount
//   of 100 is 1 króna) and takes only whole krónur. A Stripe top-up would charge a hundredth of
//   what it credits.
// - MGA: ISO 4217 gives the ariary two decimals, while Stripe counts MGA zero-decimal (an amount
//   of 100 is 100 ariary). A Stripe top-up would charge a hundred times what it credits.
// So Stripe is not offered for them (MoMo and Revolut count as the ledger does).
const COUNTED_OTHERWISE = new Set(["ISK", "MGA"]);

/** Whether Stripe counts `currency` (ISO 4217, upper case) in the ledger's minor units. */
export function stripeCountsInMinorUnits(currency: string): boolean {
  return !COUNTED_OTHERWISE.has(currency);
}
