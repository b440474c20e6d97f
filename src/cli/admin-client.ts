/** A small client of the admin API, for the CLI. */
export interface AdminClientOptions {
  readonly url: string;
  readonly token: string | undefined;
}

/** An answer of the admin API that was not 2xx: its JSON error, or the raw text. */
export class AdminApiError extends Error {
  override name = "AdminApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function callAdmin<T>(options: AdminClientOptions, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(new URL(path, options.url), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new AdminApiError(0, "unreachable", `cannot reach the admin API at ${options.url}: ${(error as Error).message}`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new AdminApiError(res.status, error?.code ?? "http_error", error?.message ?? `${res.status} ${text.slice(0, 200)}`);
  }
  return parsed as T;
}
