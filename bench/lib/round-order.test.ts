import { describe, expect, it } from "vitest";
import { roundOrder } from "./round-order.ts";

describe("roundOrder", () => {
  it("runs the cases as given in even rounds and reversed in odd ones", () => {
    const cases = ["a", "b", "c"];
    expect([0, 1, 2, 3].map((round) => roundOrder(cases, round).join(""))).toEqual(["abc", "cba", "abc", "cba"]);
  });

  it("puts every case in every position equally often over an even number of rounds", () => {
    const cases = ["a", "b", "c", "d"];
    const positions = cases.map((c) => [0, 1, 2, 3].reduce((sum, round) => sum + roundOrder(cases, round).indexOf(c), 0));
    expect(positions).toEqual([6, 6, 6, 6]);
  });

  it("leaves the given array as it was", () => {
    const cases = ["a", "b"];
    roundOrder(cases, 1);
    expect(cases).toEqual(["a", "b"]);
  });
});
