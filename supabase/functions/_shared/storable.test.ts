import { describe, expect, it } from "vitest";
import { storableJson, storableText } from "./storable.ts";

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
