// The caller's network address, for rate-limit keys of unauthenticated callers (webhooks).

const ADDRESS = /^[0-9A-Fa-f:.]{1,45}$/;

/**
 * The first hop of x-forwarded-for (the client as the platform's proxy saw it), else the
 * connection's peer address (Deno.serve's info.remoteAddr, which hono passes as `env`),
 * else "unknown". Anything that is not an IP address literal becomes "invalid".
 */
export function clientAddress(headers: Headers, connection?: unknown): string {
  const forwarded = headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  const peer = (connection as { remoteAddr?: { hostname?: unknown } } | undefined)?.remoteAddr?.hostname;
  const address = forwarded || (typeof peer === "string" ? peer : "");
  if (!address) return "unknown";
  return ADDRESS.test(address) ? address : "invalid";
}
