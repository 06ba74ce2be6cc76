// A provider's answer, or why it could not be had, as a value: the effects of a webhook event
// store a failed look-up as the event's failure instead of failing the delivery.

export type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

/** Asks and never throws: a failure, also one to make the client, becomes `{ ok: false, error }`. */
export async function settled<T>(ask: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await ask() };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
}
