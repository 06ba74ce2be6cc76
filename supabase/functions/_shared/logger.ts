// Structured logs: one JSON line per request plus warnings, with secrets redacted and phone
// numbers masked before anything is written.
import { loadedSecretValues } from "./env.ts";

export type LogSink = (line: string) => void;

/** The decision of the rate limiter as it appears in the request log. */
export interface RateLimitLog {
  allowed: boolean;
  limit: number;
  remaining: number;
  failed_open: boolean;
}

export interface RequestLog {
  function: string;
  method: string;
  /** The URL path only: query strings can carry tokens and are never logged. */
  path: string;
  status: number;
  duration_ms: number;
  correlation_id: string;
  rate_limit: RateLimitLog | null;
  error_code?: string;
  error?: string;
}

export interface Logger {
  request(entry: RequestLog): void;
  /** A fact worth a line of its own (a scheduled job's counts). */
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

const REDACTED = "[REDACTED]";
// Field names whose values are credentials: authorization, cookies, every *-signature header,
// tokens, secrets, passwords, API keys.
const SECRET_KEY = /secret|token|passw|authorization|signature|api[-_]?key|cookie|jwt|credential|private[-_]?key/i;
// Field names whose values are phone numbers (WhatsApp wa_id/from, MoMo msisdn/partyId, ...).
const PHONE_KEY = /^(phone|phone_number|msisdn|wa_id|from|to|recipient_id|display_phone_number|party_?id)$/i;
// Credential shapes that may turn up inside free text.
const SECRET_PATTERNS: RegExp[] = [
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, // authorization values
  /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, // JWTs
  /\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+/g, // Stripe keys
  /\bwhsec_[A-Za-z0-9+/=]+/g, // Stripe webhook secrets
  /\b[0-9a-fA-F]{32,}\b/g, // hex MACs and tokens
  /postgres(ql)?:\/\/[^\s"']+/g, // connection strings with passwords
];
// A phone number in free text: 9..15 digits, optionally with +, not part of a longer token.
const PHONE_IN_TEXT = /(?<![\w-])\+?\d{9,15}(?![\w-])/g;

/**
 * Masks a phone number to its country and network prefix and its last 2 digits, e.g.
 * 256712344321 -> 2567******21: enough to tell numbers apart in a log, too little to call one.
 */
export function maskPhone(phone: string): string {
  const plus = phone.trim().startsWith("+") ? "+" : "";
  const digits = phone.replace(/\D/g, "");
  if (digits.length < 9) return `${plus}${"*".repeat(Math.max(digits.length - 2, 0))}${digits.slice(-2)}`;
  return `${plus}${digits.slice(0, 4)}${"*".repeat(digits.length - 6)}${digits.slice(-2)}`;
}

function redactText(text: string): string {
  let result = text;
  for (const secret of loadedSecretValues()) result = result.split(secret).join(REDACTED);
  for (const pattern of SECRET_PATTERNS) result = result.replace(pattern, REDACTED);
  return result.replace(PHONE_IN_TEXT, maskPhone);
}

/** A copy of `value` that is safe to log: secret fields redacted, phone numbers masked. */
export function redact(value: unknown, key = ""): unknown {
  if (value === null || value === undefined) return value;
  // Correlation ids are already restricted to safe characters and must stay searchable.
  if (key === "correlation_id") return value;
  if (key && SECRET_KEY.test(key)) return REDACTED;
  if (key && PHONE_KEY.test(key) && (typeof value === "string" || typeof value === "number")) return maskPhone(String(value));
  if (typeof value === "string") return redactText(value);
  if (value instanceof Headers) return redact(Object.fromEntries(value.entries()));
  if (Array.isArray(value)) return value.map((item) => redact(item));
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  }
  return value;
}

/** A logger that writes redacted JSON lines to `sink` (stdout by default). */
export function createLogger(sink: LogSink = (line) => console.log(line)): Logger {
  const write = (level: string, event: string, fields: object) => {
    sink(JSON.stringify({ level, time: new Date().toISOString(), event, ...(redact(fields) as object) }));
  };
  return {
    request: (entry) => write(entry.status >= 500 ? "error" : "info", "request", entry),
    info: (event, fields = {}) => write("info", event, fields),
    warn: (event, fields = {}) => write("warn", event, fields),
    error: (event, fields = {}) => write("error", event, fields),
  };
}
