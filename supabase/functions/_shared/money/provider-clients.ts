// The deployed provider clients (the payments API, the WhatsApp conversation's top-ups and
// cash-outs). Each client reads its own configuration when first used, so a top-up through
// one provider never needs another provider's secrets.
import { momoCallbackUrlFromEnv } from "../providers/momo/callback-url.ts";
import { momoClientFromEnv } from "../providers/momo/client.ts";
import { revolutClientFromEnv } from "../providers/revolut/client.ts";
import { stripeClientFromEnv } from "../providers/stripe/client.ts";
import type { ProviderClients } from "./topups.ts";

export function providerClientsFromEnv(): ProviderClients {
  return {
    get stripe() {
      return stripeClientFromEnv();
    },
    get momo() {
      return momoClientFromEnv();
    },
    get revolut() {
      return revolutClientFromEnv();
    },
    momoCallbackUrl: momoCallbackUrlFromEnv,
  };
}
