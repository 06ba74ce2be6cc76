// The conversation's messages stay within Meta's field limits, and within the outbox's bound
// on a body (4096 bytes of JSON).
import { describe, expect, it } from "vitest";
import { buttonsMessage, confirmationMessage, LIMITS, listMessage, menuMessage, textMessage } from "./messages.ts";

const row = (i: number) => ({ id: `r${i}`, title: `Row ${i}` });

describe("messages", () => {
  it("builds the menu as a list within the limits and the outbox bound", () => {
    for (const understood of [true, false]) {
      const menu = menuMessage(understood);
      expect(menu.type).toBe("interactive");
      expect(new TextEncoder().encode(JSON.stringify(menu)).length).toBeLessThan(4096);
    }
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
