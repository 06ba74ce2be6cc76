// Phone numbers as people type them, normalized to what WhatsApp calls a wa_id: E.164 digits
// without the '+'. International forms are read as they are; a local form ("0788 123 456") is
// read in the country of the sender's own number, where the person dials it, and in
// WHATSAPP_DEFAULT_REGION only when that number names no country: "0772 123 456" from Uganda is
// +256 772 123 456, never the Rwandan +250 772 123 456. libphonenumber-js holds the numbering
// plans, so a number that cannot exist in its country is refused rather than guessed.
import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js";

/**
 * The wa_id of `typed`, or null when it is not a valid phone number. Digits that cannot be a
 * number of the region are read as international without the '+', as WhatsApp shows a
 * contact's number ("254712345678" from Rwanda is the Kenyan +254 712 345678).
 */
export function toWaId(typed: string, defaultRegion: string): string | null {
  // "00" is the international prefix most of the world dials instead of "+".
  const international = typed.trim().replace(/^00(?=[1-9])/, "+");
  const parsed = parsePhoneNumberFromString(international, { defaultCountry: defaultRegion as CountryCode });
  if (parsed?.isValid()) return parsed.number.slice(1);
  const withPlus = /^[1-9][\d ]{6,}$/.test(international) ? parsePhoneNumberFromString(`+${international}`) : undefined;
  return withPlus?.isValid() ? withPlus.number.slice(1) : null;
}

/** The region `waId`'s sender dials local numbers in: its own number's country, else `fallback`. */
export function senderRegion(waId: string, fallback: string): string {
  return parsePhoneNumberFromString(`+${waId}`)?.country ?? fallback;
}

/** "+250 788 123 456" for the wa_id 250788123456 (as the recipient would read it). */
export function displayPhone(waId: string): string {
  return parsePhoneNumberFromString(`+${waId}`)?.formatInternational() ?? `+${waId}`;
}

// The time zones of the countries mfuko's senders write from, one per country. A sender of
// another country reads times in UTC.
const TIME_ZONES: Readonly<Record<string, string>> = {
  RW: "Africa/Kigali",
  UG: "Africa/Kampala",
  KE: "Africa/Nairobi",
  TZ: "Africa/Dar_es_Salaam",
  BI: "Africa/Bujumbura",
  SS: "Africa/Juba",
  ET: "Africa/Addis_Ababa",
  ZM: "Africa/Lusaka",
  MW: "Africa/Blantyre",
  GH: "Africa/Accra",
  NG: "Africa/Lagos",
  ZA: "Africa/Johannesburg",
};

/** The time zone `waId`'s sender reads times in ("Africa/Kigali"), and its name ("Kigali time"). */
export function senderTimeZone(waId: string): { zone: string; name: string } {
  const zone = TIME_ZONES[parsePhoneNumberFromString(`+${waId}`)?.country ?? ""];
  return zone ? { zone, name: `${zone.split("/")[1]!.replaceAll("_", " ")} time` } : { zone: "UTC", name: "UTC" };
}
