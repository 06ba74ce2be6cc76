// A payments gateway of the calling test file's own, started before its tests and stopped after
// them (payments-gateway.ts itself stays free of vitest: the drills start gateways too).
import { afterAll, beforeAll } from "vitest";
import { type PaymentsGateway, startPaymentsGateway } from "./payments-gateway.ts";

/** The gateway, filled in once the file's beforeAll has started it. */
export function usePaymentsGateway(env: Record<string, string> = {}): PaymentsGateway {
  const gateway = {} as PaymentsGateway;
  beforeAll(async () => {
    Object.assign(gateway, await startPaymentsGateway(env));
  });
  afterAll(() => gateway.stop?.());
  return gateway;
}
