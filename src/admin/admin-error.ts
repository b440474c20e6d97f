import type { ContentfulStatusCode } from "hono/utils/http-status";

/** An admin API error that knows its response: `{ "error": { "code", "message", ...details } }`. */
export class AdminError extends Error {
  override name = "AdminError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }

  toJSON(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}
