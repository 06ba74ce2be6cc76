// The one JSON error shape every function answers with:
// {"error": {"code", "message", "correlation_id", "details"}}. Never a stack trace or a secret.
import { z } from "zod";
import { ConfigError } from "./env.ts";

/** An error that knows its HTTP answer. `details` must be safe to show to the caller. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export interface ErrorBody {
  error: { code: string; message: string; correlation_id: string; details: unknown };
}

/** One failing field of a rejected input. */
export interface FieldError {
  path: string;
  message: string;
}

/** 400 with the failing fields (`path` in dot notation, "" for the whole input). */
export function validationError(error: z.ZodError): HttpError {
  const fields: FieldError[] = error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
  return new HttpError(400, "validation_failed", "The request is not valid.", { fields });
}

/** Parses `input` with `schema`, throwing the 400 of validationError when it does not fit. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (!result.success) throw validationError(result.error);
  return result.data;
}

/**
 * The HttpError to answer for anything thrown: HttpErrors as they are, zod errors as 400,
 * everything else as an opaque 500 (its message stays in the server log only).
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof z.ZodError) return validationError(error);
  if (error instanceof ConfigError) {
    return new HttpError(500, "configuration_error", "The service is not configured correctly.");
  }
  return new HttpError(500, "internal_error", "An unexpected error occurred.");
}

/** The JSON response for an error, with the correlation id in the body and the header. */
export function errorResponse(error: unknown, correlationId: string): Response {
  const httpError = toHttpError(error);
  const body: ErrorBody = {
    error: {
      code: httpError.code,
      message: httpError.message,
      correlation_id: correlationId,
      details: httpError.details ?? null,
    },
  };
  return new Response(JSON.stringify(body), {
    status: httpError.status,
    headers: { ...httpError.headers, "content-type": "application/json; charset=utf-8", "x-correlation-id": correlationId },
  });
}
