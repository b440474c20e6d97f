import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { Context, Hono } from "hono";

/** A demo app listening on a port. */
export interface RunningApp {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Serves a Hono app on `host:port` (0 picks a free port). */
export async function serveApp(app: Hono, port: number, host = "127.0.0.1"): Promise<RunningApp> {
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.listen(port, host);
  await once(server, "listening");
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `http://${host}:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A JSON error in the shape every demo app uses. */
export function jsonError(c: Context, status: 400 | 404 | 409, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status);
}

/** Reads `page` and `pageSize` (1-based; size 1–100, default 20), or says what is wrong. */
export function pagingOf(c: Context): { page: number; pageSize: number } | string {
  const page = Number(c.req.query("page") ?? "1");
  const pageSize = Number(c.req.query("pageSize") ?? "20");
  if (!Number.isInteger(page) || page < 1) return "page must be a whole number from 1";
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) return "pageSize must be a whole number from 1 to 100";
  return { page, pageSize };
}

/** Euros from cents, as a JSON number with two decimals' precision. */
export function money(cents: number): number {
  return Math.round(cents) / 100;
}

/** Port from an environment variable, or the default. */
export function portFromEnv(name: string, fallback: number): number {
  const value = process.env[name];
  const n = value === undefined || value === "" ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got ${JSON.stringify(value)}`);
  return n;
}
