// Typed configuration of the edge functions, read from the process environment once per
// variable and validated with zod. Works under Deno (Deno.env) and Node (process.env) without
// either runtime's types. Errors name the variable, never its value.
import { z } from "zod";

type EnvSource = { get(name: string): string | undefined };

/** The raw value of one environment variable, from Deno's or Node's environment. */
export function readEnv(name: string): string | undefined {
  const runtime = globalThis as {
    Deno?: { env: EnvSource };
    process?: { env: Record<string, string | undefined> };
  };
  return runtime.Deno ? runtime.Deno.env.get(name) : runtime.process?.env[name];
}

const secret = z.string().min(8, "must be at least 8 characters");
const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });
const wholeNumber = (min: number, max: number, fallback: number) =>
  z.coerce.number({ error: "must be a whole number" }).int("must be a whole number")
    .min(min, `must be at least ${min}`).max(max, `must be at most ${max}`).default(fallback);
const perMinute = (fallback: number) =>
  z.coerce.number({ error: "must be a whole number" }).int("must be a whole number")
    .min(1, "must be at least 1").max(100_000, "must be at most 100000").default(fallback);

/** Every variable the functions read, with its rule. Empty values count as unset. */
export const envSchema = {
  SUPABASE_DB_URL: z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgresql:// URL" }),
  // Connections each function process keeps to SUPABASE_DB_URL (docs/WEBHOOKS.md, "Pool size").
  DB_POOL_MAX: wholeNumber(1, 100, 10),
  SUPABASE_JWT_SECRET: z.string().min(32, "must be at least 32 characters"),
  SUPABASE_JWKS: z.string().optional(),
  WHATSAPP_VERIFY_TOKEN: secret,
  WHATSAPP_APP_SECRET: secret,
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_/, "must start with sk_ or rk_"),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_/, "must start with whsec_"),
  // Where the Stripe SDK sends API calls (host, port and protocol of this URL).
  STRIPE_API_BASE_URL: httpUrl.default("https://api.stripe.com"),
  REVOLUT_WEBHOOK_SECRET: secret,
  REVOLUT_API_BASE_URL: httpUrl,
  // Merchant API secret key and the API version the order look-up is written against.
  REVOLUT_API_KEY: secret,
  REVOLUT_API_VERSION: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date like 2024-09-01").default("2024-09-01"),
  // Where Revolut's hosted checkout sends the person once they have paid (the app's page or
  // universal link), with the top-up's id added as intent_id; unset, the checkout ends on
  // Revolut's own page. Revolut takes at most 2000 characters and no localhost or IP host.
  REVOLUT_REDIRECT_URL: httpUrl.max(1900, "must be at most 1900 characters").optional(),
  MOMO_CALLBACK_SECRET: secret,
  MOMO_API_BASE_URL: httpUrl,
  // MTN MoMo Collection API credentials: the product's subscription key (Ocp-Apim-Subscription-Key),
  // the API user (a UUID) and its API key, and X-Target-Environment (sandbox, mtnuganda, ...).
  MOMO_SUBSCRIPTION_KEY: secret,
  MOMO_API_USER: z.uuid({ error: "must be a UUID" }),
  MOMO_API_KEY: secret,
  // MTN MoMo Disbursement API subscription key (cash-outs); same API user and key.
  MOMO_DISBURSEMENT_SUBSCRIPTION_KEY: secret.optional(),
  MOMO_TARGET_ENVIRONMENT: z.string().regex(/^[a-z0-9]{1,32}$/, "must be lower-case letters and digits").default("sandbox"),
  // How long a call to a provider's API may take before it counts as unavailable.
  PROVIDER_TIMEOUT_MS: z.coerce.number({ error: "must be a whole number" }).int("must be a whole number")
    .min(100, "must be at least 100").max(60_000, "must be at most 60000").default(10_000),
  // The project's API (https://<project>.supabase.co): the Auth Admin API creates the users of
  // WhatsApp contacts with the service_role key.
  SUPABASE_URL: httpUrl,
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(32, "must be at least 32 characters"),
  // The WhatsApp Cloud API (docs/WHATSAPP.md): where messages are sent (version included),
  // from which business phone number, with which access token; the approved template sent
  // to a person outside the 24-hour window, and whether it has the one body parameter {{1}}
  // that the notification's text fills (false: a template without parameters, which only
  // says to open the chat); the currency of the wallet account a first contact opens and the
  // region local phone numbers are read in.
  WHATSAPP_API_BASE_URL: httpUrl.default("https://graph.facebook.com/v21.0"),
  WHATSAPP_PHONE_NUMBER_ID: z.string().regex(/^\d{1,32}$/, "must be digits"),
  WHATSAPP_ACCESS_TOKEN: secret,
  WHATSAPP_NOTIFY_TEMPLATE: z.string().regex(/^[a-z0-9_]{1,512}$/, "must be a template name (a-z, 0-9, _)").optional(),
  WHATSAPP_NOTIFY_TEMPLATE_WITH_TEXT: z.stringbool({
    truthy: ["true"],
    falsy: ["false"],
    case: "sensitive",
    error: "must be true or false",
  })
    .default(false),
  WHATSAPP_DEFAULT_CURRENCY: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code").default("RWF"),
  WHATSAPP_DEFAULT_REGION: z.string().regex(/^[A-Z]{2}$/, "must be an ISO 3166 region code").default("RW"),
  // The public base of the functions (https://<project>.supabase.co/functions/v1): provider
  // callback URLs are built on it.
  PUBLIC_FUNCTIONS_URL: httpUrl,
  UPSTASH_REDIS_REST_URL: httpUrl.optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
  // Per client address: a flood guard, high enough for Meta's shared egress addresses, from
  // which every sender's messages arrive. Each sender (wa_id) has its own limit, checked
  // after the signature.
  RATE_LIMIT_WHATSAPP_WEBHOOK_PER_MIN: perMinute(6000),
  RATE_LIMIT_WHATSAPP_SENDER_PER_MIN: perMinute(100),
  RATE_LIMIT_STRIPE_WEBHOOK_PER_MIN: perMinute(50),
  RATE_LIMIT_MOMO_WEBHOOK_PER_MIN: perMinute(50),
  RATE_LIMIT_REVOLUT_WEBHOOK_PER_MIN: perMinute(50),
  RATE_LIMIT_ADMIN_PER_MIN: perMinute(200),
  RATE_LIMIT_PAYMENTS_PER_MIN: perMinute(30),
  // How long a request body may take to arrive in full before the answer is 408, so that a
  // client trickling its body cannot hold a connection for ever.
  REQUEST_BODY_TIMEOUT_MS: z.coerce.number({ error: "must be a whole number" }).int("must be a whole number")
    .min(100, "must be at least 100").max(120_000, "must be at most 120000").default(10_000),
  // Scheduled jobs (function jobs): items per run, how long a MoMo payment waits for its
  // callback before momo-poll asks, how long a Revolut top-up or refund waits for its webhook
  // before revolut-poll asks, how long a Stripe top-up waits for its webhook before
  // stripe-poll asks, how long a polled item stays leased (also the spacing of the
  // questions about one payment, and how long a polling run takes items: it must outlast one
  // item's few provider calls), how long an unpaid intent lives, and how long momo-poll
  // re-sends a transfer MoMo does not know before it fails it as not_accepted.
  JOBS_BATCH_SIZE: wholeNumber(1, 1000, 100),
  JOBS_MOMO_POLL_AFTER_SECONDS: wholeNumber(0, 604_800, 120),
  JOBS_REVOLUT_POLL_AFTER_SECONDS: wholeNumber(0, 604_800, 300),
  JOBS_STRIPE_POLL_AFTER_SECONDS: wholeNumber(0, 604_800, 900),
  JOBS_LEASE_SECONDS: wholeNumber(1, 3600, 60),
  JOBS_INTENT_TTL_SECONDS: wholeNumber(60, 2_592_000, 86_400),
  JOBS_MOMO_TRANSFER_ACCEPT_SECONDS: wholeNumber(60, 2_592_000, 86_400),
  // The origins whose pages may call the user APIs (admin, payments) from a browser: "*", any,
  // as PostgREST answers the same apps (the APIs take bearer tokens, never cookies, so a page
  // of another origin holds no credentials of the user's), or a comma-separated allowlist.
  CORS_ALLOWED_ORIGINS: z.string().default("*")
    .transform((value) => value.split(",").map((origin) => origin.trim()))
    .pipe(
      z.array(z.string().regex(/^(\*|https?:\/\/[^/\s*]+)$/, "must be * or origins such as https://app.example.com, comma-separated"))
        .max(50, "must name at most 50 origins"),
    ),
  TRUSTED_PROXY_HOPS: z.coerce.number({ error: "must be a whole number" }).int("must be a whole number")
    .min(0, "must be at least 0").max(10, "must be at most 10").default(1),
} as const;

export type EnvName = keyof typeof envSchema;
export type Env = { [K in EnvName]: z.output<(typeof envSchema)[K]> };

/** A missing or invalid variable; the message names the variable and the rule, not the value. */
export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`environment variable ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

/** Variables whose values must never reach a log line; the logger masks them wherever they appear. */
const SECRET_NAMES: ReadonlySet<EnvName> = new Set<EnvName>([
  "SUPABASE_DB_URL",
  "SUPABASE_JWT_SECRET",
  "WHATSAPP_VERIFY_TOKEN",
  "WHATSAPP_APP_SECRET",
  "STRIPE_SECRET_KEY",
  "STRIPE_WEBHOOK_SECRET",
  "REVOLUT_WEBHOOK_SECRET",
  "REVOLUT_API_KEY",
  "MOMO_CALLBACK_SECRET",
  "MOMO_SUBSCRIPTION_KEY",
  "MOMO_DISBURSEMENT_SUBSCRIPTION_KEY",
  "MOMO_API_KEY",
  "UPSTASH_REDIS_REST_TOKEN",
  "SUPABASE_SERVICE_ROLE_KEY",
  "WHATSAPP_ACCESS_TOKEN",
]);

const cache = new Map<EnvName, unknown>();

/** The values of the secret variables read so far. */
export function loadedSecretValues(): string[] {
  return [...SECRET_NAMES].map((name) => cache.get(name)).filter((v): v is string => typeof v === "string" && v !== "");
}

function load<K extends EnvName>(name: K): Env[K] {
  if (cache.has(name)) return cache.get(name) as Env[K];
  const raw = readEnv(name);
  const result = envSchema[name].safeParse(raw === "" ? undefined : raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(name, raw === undefined || raw === "" ? "is missing" : `is invalid: ${issue?.message}`);
  }
  cache.set(name, result.data);
  return result.data as Env[K];
}

/**
 * The validated values of the named variables, e.g.
 * `const { WHATSAPP_APP_SECRET } = env("WHATSAPP_APP_SECRET")`. Throws ConfigError.
 */
export function env<K extends EnvName>(...names: K[]): Pick<Env, K> {
  const values = {} as Pick<Env, K>;
  for (const name of names) values[name] = load(name);
  return values;
}

/** `make`'s result, made on the first call and kept: what a function builds from the environment once per process. */
export function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

/** Forgets the values read so far (tests that change the environment). */
export function clearEnvCache(): void {
  cache.clear();
}
