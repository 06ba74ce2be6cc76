// The limit a WL009 names, in words (the messages private.wallet_check_limits raises).
import { describe, expect, it } from "vitest";
import { limitInWords } from "./refusals.ts";

describe("limitInWords", () => {
  it("names each limit with its amount in major units", () => {
    expect(limitInWords("single payment limit of 500000 UGX would be exceeded"))
      .toBe("That is over your limit for a single payment of 500,000 UGX.");
    expect(limitInWords("daily limit of 2000000 EUR would be exceeded")).toBe("That is over your daily limit of 20,000.00 EUR.");
    expect(limitInWords("hourly limit of 60 payments would be exceeded"))
      .toBe("You have reached your limit of 60 payments an hour. Try again later.");
  });

  it("says payments in a currency are not open when the tier has no limits in it", () => {
    expect(limitInWords("no limits are set for the standard tier in BIF")).toBe("Payments in BIF are not open for your account yet.");
  });

  it("gives null for any other message", () => {
    expect(limitInWords("weekly limit of 5 UGX would be exceeded")).toBeNull();
    expect(limitInWords("")).toBeNull();
  });
});
