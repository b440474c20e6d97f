import type { RunningApp } from "./http.ts";

/** Starts a demo app, prints where it listens (one JSON line, read by the demo runner), and stops it on SIGINT/SIGTERM. */
export async function runUntilSignal(name: string, start: () => Promise<RunningApp>): Promise<void> {
  const app = await start();
  console.log(JSON.stringify({ service: name, msg: "listening", url: app.url, port: app.port }));
  const stop = () => void app.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
