import { describe, expect, it } from "vitest";
import { clientAddress } from "./client-address.ts";

const headers = (forwardedFor?: string) => new Headers(forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor });
const peer = { remoteAddr: { hostname: "198.51.100.9" } };

describe("clientAddress", () => {
  it("takes the hop our one trusted proxy appended, ignoring whatever the caller wrote before it", () => {
    expect(clientAddress(headers("203.0.113.7"), peer, 1)).toBe("203.0.113.7");
    expect(clientAddress(headers("1.2.3.4, 5.6.7.8, 203.0.113.7"), peer, 1)).toBe("203.0.113.7");
  });

  it("counts several trusted proxies from the right", () => {
    expect(clientAddress(headers("1.2.3.4, 203.0.113.7, 10.0.0.2"), peer, 2)).toBe("203.0.113.7");
  });

  it("a forged first hop does not change the key", () => {
    const keys = ["9.9.9.1", "9.9.9.2", "9.9.9.3"].map((forged) => clientAddress(headers(`${forged}, 203.0.113.7`), peer, 1));
    expect(new Set(keys)).toEqual(new Set(["203.0.113.7"]));
  });

  it("uses the connection's peer without a proxy, or when the header has fewer hops than trusted", () => {
    expect(clientAddress(headers("1.2.3.4"), peer, 0)).toBe("198.51.100.9");
    expect(clientAddress(headers("203.0.113.7"), peer, 2)).toBe("198.51.100.9");
    expect(clientAddress(headers(), peer, 1)).toBe("198.51.100.9");
  });

  it("says unknown without any address and invalid for anything that is not an IP literal", () => {
    expect(clientAddress(headers(), undefined, 1)).toBe("unknown");
    expect(clientAddress(headers("<script>"), peer, 1)).toBe("invalid");
  });
});
