import { once } from "node:events";
import { connect, type Socket } from "node:net";

/** A raw TCP connection to the host and port of `url` on 127.0.0.1, connected; its errors are ignored. */
export async function openRaw(url: string): Promise<Socket> {
  const socket = connect(Number(new URL(url).port), "127.0.0.1");
  await once(socket, "connect");
  socket.on("error", () => undefined);
  return socket;
}

/**
 * Writes `raw` on a fresh connection and returns all that comes back until the peer closes it (or
 * `timeoutMs` passes, when the connection is cut), with the time that took.
 */
export async function rawExchange(url: string, raw: string | Buffer, timeoutMs = 10_000): Promise<{ text: string; ms: number }> {
  const socket = await openRaw(url);
  const started = Date.now();
  let text = "";
  socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
  const closed = once(socket, "close");
  socket.write(raw);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  await closed;
  clearTimeout(timer);
  return { text, ms: Date.now() - started };
}
