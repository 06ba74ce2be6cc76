// Correlation ids tie one request's response, log line and audit rows together.

export const CORRELATION_HEADER = "x-correlation-id";

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's x-correlation-id when it is 1..128 safe characters, else a new UUID. */
export function correlationIdFrom(headers: Headers): string {
  const offered = headers.get(CORRELATION_HEADER);
  return offered !== null && SAFE_ID.test(offered) ? offered : crypto.randomUUID();
}
