/** Polls `read` until `done` holds on its result, or `timeoutMs` passes; returns the last result. */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, everyMs));
    value = await read();
  }
  return value;
}

/** Polls a synchronous `check` until it holds or `timeoutMs` passes; returns whether it held. */
export function eventually(check: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  return until(async () => check(), (held) => held, timeoutMs);
}
