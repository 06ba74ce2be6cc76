import { describe, expect, it } from "vitest";
import { storableJson, storablePayload, storableText } from "./storable.ts";

describe("storableText", () => {
  it("replaces U+0000 and lone surrogates with U+FFFD and keeps everything else", () => {
    expect(storableText("evil\u0000text\u0000")).toBe("evil\uFFFDtext\uFFFD");
    expect(storableText("half \ud83d")).toBe("half \uFFFD");
    expect(storableText("\ude00 tail")).toBe("\uFFFD tail");
    expect(storableText("pair \ud83d\ude00, accents é, tab\t")).toBe("pair \ud83d\ude00, accents é, tab\t");
  });
});

describe("storableJson", () => {
  it("cleans strings and keys at any depth and leaves other values as they are", () => {
    const input = { "k\u0000": ["a\u0000", { deep: "\ud800" }, 1, true, null], n: 2.5 };
    expect(storableJson(input)).toEqual({ "k\uFFFD": ["a\uFFFD", { deep: "\uFFFD" }, 1, true, null], n: 2.5 });
    expect(input["k\u0000"][0]).toBe("a\u0000");
  });
});

describe("storablePayload", () => {
  it("drops the credential keys at any depth, in any ASCII case, and keeps every other key", () => {
    const input = {
      id: "pi_1",
      client_secret: "pi_1_secret_x",
      next_action: { redirect: { Token: "t", url: "https://example.com" } },
      charges: [{ card: { CVC: "123", last4: "4242" } }, "pin"],
      secrets: "kept: not a credential name",
      client_secret_hint: "kept too",
    };
    expect(storablePayload(input)).toEqual({
      id: "pi_1",
      next_action: { redirect: { url: "https://example.com" } },
      charges: [{ card: { last4: "4242" } }, "pin"],
      secrets: "kept: not a credential name",
      client_secret_hint: "kept too",
    });
    expect(input.client_secret).toBe("pi_1_secret_x");
  });

  it("makes text storable as storableJson does", () => {
    expect(storablePayload({ "k\u0000": ["a\u0000", { deep: "\ud800" }] })).toEqual({ "k\uFFFD": ["a\uFFFD", { deep: "\uFFFD" }] });
  });

  it("leaves a key that only Unicode case rules make a credential name to the database", () => {
    // U+212A KELVIN SIGN lower-cases to "k" in JavaScript; Postgres's lower() depends on its locale.
    expect(storablePayload({ "\u212Aey": 1, "to\u212Aen": "t" })).toEqual({ "\u212Aey": 1, "to\u212Aen": "t" });
  });
});
