// The notify template's message and the text its parameter carries: what a notification says,
// on one line with no run of more than one space (Meta refuses a newline, a tab or 5 spaces
// in a row with 132018), at most MAX_TEMPLATE_TEXT characters, cut with an ellipsis.
import { describe, expect, it } from "vitest";
import { MAX_TEMPLATE_TEXT, notificationText, notifyTemplateMessage, templateText } from "./notify-template.ts";

describe("templateText", () => {
  it("puts the lines on one line: a space after punctuation, a dash otherwise; tabs, runs of spaces and control characters one space", () => {
    expect(templateText("You received RWF 500 from Alice.\n\nBalances:\r\n\tRWF 1,500\nUSD      2\u0007 \n")).toBe(
      "You received RWF 500 from Alice. Balances: RWF 1,500 - USD 2",
    );
    expect(templateText("  one line  ")).toBe("one line");
  });

  it(`keeps ${MAX_TEMPLATE_TEXT} characters and cuts one more, ending it with an ellipsis`, () => {
    expect(templateText("a".repeat(MAX_TEMPLATE_TEXT))).toBe("a".repeat(MAX_TEMPLATE_TEXT));
    const cut = templateText("a".repeat(MAX_TEMPLATE_TEXT + 1));
    expect(cut).toHaveLength(MAX_TEMPLATE_TEXT);
    expect(cut).toBe(`${"a".repeat(MAX_TEMPLATE_TEXT - 1)}\u2026`);
  });

  it("does not cut an emoji in half", () => {
    const cut = templateText(`${"a".repeat(MAX_TEMPLATE_TEXT - 2)}\u{1F4B8}${"b".repeat(10)}`);
    expect(cut).toBe(`${"a".repeat(MAX_TEMPLATE_TEXT - 2)}\u2026`);
  });
});

describe("notificationText", () => {
  it("is a text's body or an interactive message's body text; null for a template", () => {
    expect(notificationText({ type: "text", text: { body: "You received RWF 500" } })).toBe("You received RWF 500");
    expect(notificationText({ type: "interactive", interactive: { type: "button", body: { text: "Confirm?" } } })).toBe("Confirm?");
    expect(notificationText({ type: "interactive", interactive: { type: "button" } })).toBeNull();
    expect(notificationText(notifyTemplateMessage("mfuko_notification", "en"))).toBeNull();
  });
});

describe("notifyTemplateMessage", () => {
  it("has no component without text, and the text made fit as its one body parameter with it", () => {
    expect(notifyTemplateMessage("mfuko_notification", "rw")).toEqual({
      type: "template",
      template: { name: "mfuko_notification", language: { code: "rw" } },
    });
    expect(notifyTemplateMessage("mfuko_notification", "en", "Cash-out paid.\nRWF 5,000")).toEqual({
      type: "template",
      template: {
        name: "mfuko_notification",
        language: { code: "en" },
        components: [{ type: "body", parameters: [{ type: "text", text: "Cash-out paid. RWF 5,000" }] }],
      },
    });
  });
});
