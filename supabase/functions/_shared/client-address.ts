// The caller's network address, for rate-limit keys of unauthenticated callers (webhooks).
import { env } from "./env.ts";

const ADDRESS = /^[0-9A-Fa-f:.]{1,45}$/;

/**
 * The address our own proxies saw: the TRUSTED_PROXY_HOPS-th hop of x-forwarded-for counted
 * from the right. A caller can write anything at the left of that header, so the first hop
 * would let a flood of forged requests pick a fresh rate-limit key per request; the hops our
 * proxies append cannot be forged. With 0 trusted hops (no proxy), or too few hops, it is the
 * connection's peer address (Deno.serve's info.remoteAddr, which hono passes as `env`), else
 * "unknown". Anything that is not an IP address literal becomes "invalid".
 */
export function clientAddress(
  headers: Headers,
  connection?: unknown,
  trustedHops: number = env("TRUSTED_PROXY_HOPS").TRUSTED_PROXY_HOPS,
): string {
  const hops = (headers.get("x-forwarded-for") ?? "").split(",").map((hop) => hop.trim()).filter(Boolean);
  const forwarded = trustedHops > 0 ? hops[hops.length - trustedHops] : undefined;
  const peer = (connection as { remoteAddr?: { hostname?: unknown } } | undefined)?.remoteAddr?.hostname;
  const address = forwarded || (typeof peer === "string" ? peer : "");
  if (!address) return "unknown";
  return ADDRESS.test(address) ? address : "invalid";
}
