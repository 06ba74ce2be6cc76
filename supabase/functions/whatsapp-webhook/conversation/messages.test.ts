// The conversation's messages stay within Meta's field limits, and within the outbox's bound
// on a body (4096 bytes of JSON).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buttonsMessage, clip, confirmationMessage, LIMITS, listMessage, menuMessage, textMessage } from "./messages.ts";

const row = (i: number) => ({ id: `r${i}`, title: `Row ${i}` });

describe("messages", () => {
  it("builds the menu as a list within the limits and the outbox bound", () => {
    for (const [understood, unreadable] of [[true, false], [false, false], [false, true]]) {
      const menu = menuMessage(understood!, unreadable);
      expect(menu.type).toBe("interactive");
      expect(new TextEncoder().encode(JSON.stringify(menu)).length).toBeLessThan(4096);
    }
  });

  it("welcomes a first message it cannot read, and says what it reads", () => {
    const body = (m: ReturnType<typeof menuMessage>) => (m as unknown as { interactive: { body: { text: string } } }).interactive.body.text;
    expect(body(menuMessage(true, true))).toMatch(
      /^Welcome to mfuko, your wallet on WhatsApp\. I can only read typed messages and taps on my buttons\.\n/,
    );
    expect(body(menuMessage(false, true))).toMatch(/^I can only read typed messages and taps on my buttons\.\n/);
    expect(body(menuMessage(false))).toMatch(/^Sorry, I did not understand that\.\n/);
  });

  it("clips quoted text by characters, never leaving half of an emoji", () => {
    expect(clip("a\u{1F600}\u{1F600}", 2)).toBe("a\u{1F600}");
    fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 80 }), fc.integer({ min: 0, max: 60 }), (text, n) => {
      const clipped = clip(text, n);
      // encodeURIComponent throws on a lone surrogate.
      expect(() => encodeURIComponent(clipped)).not.toThrow();
      expect(text.startsWith(clipped)).toBe(true);
      expect([...clipped].length).toBe(Math.min(n, [...text].length));
    }));
  });

  it("builds Confirm and Cancel buttons that carry the pending payment", () => {
    const id = "00000000-0000-4000-8000-000000000001";
    expect(confirmationMessage("Send 5,000 UGX?", id)).toEqual({
      type: "interactive",
      interactive: {
        type: "button",
        body: { text: "Send 5,000 UGX?" },
        action: {
          buttons: [
            { type: "reply", reply: { id: `pay:confirm:${id}`, title: "Confirm" } },
            { type: "reply", reply: { id: `pay:cancel:${id}`, title: "Cancel" } },
          ],
        },
      },
    });
  });

  it("refuses a field over its limit and accepts it at the limit", () => {
    expect(() => buttonsMessage("b", [{ id: "x", title: "t".repeat(LIMITS.buttonTitle) }])).not.toThrow();
    expect(() => buttonsMessage("b", [{ id: "x", title: "t".repeat(LIMITS.buttonTitle + 1) }])).toThrow(/button title/);
    expect(() => buttonsMessage("b", [1, 2, 3, 4].map((i) => ({ id: `b${i}`, title: `B${i}` })))).toThrow(/1 to 3/);
    expect(() => buttonsMessage("b".repeat(LIMITS.interactiveBody + 1), [{ id: "x", title: "t" }])).toThrow(/interactive body/);
    expect(() => textMessage("t".repeat(LIMITS.textBody))).not.toThrow();
    expect(() => textMessage("t".repeat(LIMITS.textBody + 1))).toThrow(/text body/);
    const list = (rows: { id: string; title: string; description?: string }[], header = "h", section = "s") =>
      listMessage({ header, body: "b", button: "Menu", sections: [{ title: section, rows }] });
    expect(() => list(Array.from({ length: LIMITS.rows }, (_, i) => row(i)))).not.toThrow();
    expect(() => list(Array.from({ length: LIMITS.rows + 1 }, (_, i) => row(i)))).toThrow(/1 to 10 rows/);
    expect(() => list([{ id: "r", title: "t".repeat(LIMITS.rowTitle + 1) }])).toThrow(/row title/);
    expect(() => list([{ id: "r", title: "t", description: "d".repeat(LIMITS.rowDescription) }])).not.toThrow();
    expect(() => list([{ id: "r", title: "t", description: "d".repeat(LIMITS.rowDescription + 1) }])).toThrow(/row description/);
    expect(() => list([row(1)], "h".repeat(LIMITS.header + 1))).toThrow(/header/);
    expect(() => list([row(1)], "h", "s".repeat(LIMITS.sectionTitle + 1))).toThrow(/section title/);
    expect(() => list([{ id: "i".repeat(LIMITS.id + 1), title: "t" }])).toThrow(/row id/);
  });
});
