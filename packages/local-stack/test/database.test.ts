// Database names reach SQL as identifiers: anything but a plain lower-case name is refused
// before the cluster is asked anything.
import { describe, expect, it } from "vitest";
import { dropDatabase } from "../src/database.ts";
import { StackError } from "../src/stack-error.ts";

describe("dropDatabase", () => {
  it("refuses a name that is not a plain identifier, without connecting", async () => {
    // Port 9 (discard) on loopback: a connection attempt would fail with another error.
    await expect(dropDatabase("postgres://postgres@127.0.0.1:9/postgres", "small; drop database postgres"))
      .rejects.toThrow(new StackError("small; drop database postgres is not a plain database name"));
  });
});
