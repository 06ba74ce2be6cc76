// What a verified caller may do in the admin API (authentication is shared: ../_shared/auth.ts).
import type { Caller } from "../_shared/auth.ts";
import { HttpError } from "../_shared/errors.ts";

const READ_METHODS = new Set(["GET", "HEAD"]);

/** Admins may do everything, support may read; anyone else gets 403. */
export function authorize(caller: Caller, method: string): void {
  if (caller.staffRole === "admin") return;
  if (caller.staffRole === "support" && READ_METHODS.has(method.toUpperCase())) return;
  throw new HttpError(
    403,
    "forbidden",
    caller.staffRole === "support"
      ? "Support accounts are read-only."
      : "The admin API is for admins (app_metadata.role = admin) and support (read-only).",
  );
}
