// The common frame of the four webhook functions: a hono app under /<function-name> with the
// shared layer (rate limit per provider and client address first, then method, content type
// and body limits), and `deliver`, which hands a delivery's events to store-then-apply for the
// app's provider, runs what must follow their commit, and answers the provider. Providers that
// POST one signed event a delivery to the function's root (Stripe, Revolut) get that route too.
import { type Context, Hono } from "hono";
import type { AppOptions } from "../composition.ts";
import type { Sql } from "../db.ts";
import { applySharedLayer, type SharedEnv, webhookCallerKey } from "../middleware.ts";
import { type LimitedFunction, rateLimitPerMinute } from "../rate-limit/config.ts";
import type { RateLimiter } from "../rate-limit/limiter.ts";
import { storeThenApply, type WebhookEvent, type WebhookProvider, webhookResponse } from "./store-then-apply.ts";

export type WebhookFunction = Extract<LimitedFunction, `${string}-webhook`>;

export interface WebhookDependencies {
  sql: Sql;
  limiter: RateLimiter;
}

export interface WebhookAppOptions extends AppOptions<WebhookDependencies> {
  functionName: WebhookFunction;
  /** Provider name in rate-limit keys and webhook_events.provider. */
  provider: WebhookProvider;
  methods: readonly string[];
  maxBodyBytes?: number;
  contentTypes?: readonly string[];
}

export interface WebhookApp {
  app: Hono<SharedEnv>;
  /**
   * Stores and applies `events` in one transaction and answers the provider with their outcomes;
   * `committed` runs once that transaction has committed, before the answer, whether every event
   * applied or some failed alone (answered 500): what the others committed stands, and their
   * redelivery finds them duplicates.
   */
  deliver(c: Context<SharedEnv>, events: readonly WebhookEvent[], committed?: () => Promise<void>): Promise<Response>;
}

/** A hono app for one webhook function with the shared layer mounted. */
export function createWebhookApp(options: WebhookAppOptions): WebhookApp {
  const { dependencies, logger, provider } = options;
  const app = new Hono<SharedEnv>().basePath(`/${options.functionName}`);
  applySharedLayer(app, {
    functionName: options.functionName,
    logger,
    rateLimit: {
      get limiter() {
        return dependencies().limiter;
      },
      perMinute: rateLimitPerMinute(options.functionName),
      key: webhookCallerKey(provider),
    },
    methods: options.methods,
    maxBodyBytes: options.maxBodyBytes,
    contentTypes: options.contentTypes,
  });
  return {
    app,
    deliver: async (c, events, committed) => {
      const results = await storeThenApply(dependencies().sql, c, provider, events, logger);
      await committed?.();
      return webhookResponse(c, results);
    },
  };
}

/**
 * A webhook function whose provider POSTs one event a delivery to its root: `eventOf` verifies
 * the request and makes its event, asking the provider first where the event needs it (before
 * the transaction opens, so no database connection waits on the provider).
 */
export function createOneEventWebhookApp(
  options: Omit<WebhookAppOptions, "methods">,
  eventOf: (c: Context<SharedEnv>) => Promise<WebhookEvent>,
): Hono<SharedEnv> {
  const { app, deliver } = createWebhookApp({ ...options, methods: ["POST"] });
  app.post("/", async (c) => deliver(c, [await eventOf(c)]));
  return app;
}
