import { connect } from "node:net";

export { freePort as freeLoopbackPort } from "../scripts/free-port.ts";

/** Resolves once something accepts TCP connections on 127.0.0.1:`port` (nginx prints nothing when it starts); throws after `timeoutMs`. */
export async function acceptingOn(port: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing accepted connections on 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
}
