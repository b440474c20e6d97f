import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { createAdaptorServer } from "@hono/node-server";
import type { Logger } from "pino";
import { createAdminApp } from "./admin/admin-app.ts";
import { ConfigError } from "./config/config-error.ts";
import { loadConfigFile } from "./config/load-config.ts";
import { watchFile } from "./config/watch-config.ts";
import { createPercentageDecider } from "./decision/decider.ts";
import { createLogger } from "./log/logger.ts";
import { BackendPools } from "./proxy/backend-pool.ts";
import { buildProxyState } from "./proxy/build-state.ts";
import { createDataPlane } from "./proxy/data-plane.ts";
import type { ProxyState } from "./proxy/proxy-state.ts";

export interface StranglerOptions {
  /** Path of `routes.config.ts`. */
  readonly configPath: string;
  /** Data plane port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Data plane address. Default `0.0.0.0`. */
  readonly host?: string;
  /** Admin listener port; 0 picks a free one. Default 9901. */
  readonly adminPort?: number;
  /** Admin listener address. Default `127.0.0.1`. */
  readonly adminHost?: string;
  /** Where state lives (SQLite files, later issues). Default `./data`. */
  readonly dataDir?: string;
  /** Reload the config file when it changes. Default true. */
  readonly watch?: boolean;
  readonly logger?: Logger;
}

/** The outcome of a reload: applied, or refused with the reasons (the last good table keeps serving). */
export type ReloadResult = { readonly applied: true } | { readonly applied: false; readonly issues: readonly string[] };

/** A running proxy. */
export interface Strangler {
  readonly port: number;
  readonly adminPort: number;
  readonly url: string;
  readonly adminUrl: string;
  readonly state: () => ProxyState;
  /** Reads the config file again now (the watcher calls this on every edit). */
  reload(): Promise<ReloadResult>;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), closes pools and listeners. */
  close(graceMs?: number): Promise<void>;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  server.listen(port, host);
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

function urlOf(host: string, port: number): string {
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}`;
}

/**
 * Starts the proxy: loads and validates the config, opens backend pools, the data plane and the admin
 * listener, and watches the config file.
 * @throws ConfigError when the config is invalid (nothing is left listening).
 *
 * @example
 * const proxy = await startStrangler({ configPath: "routes.config.ts", port: 0, adminPort: 0 });
 * await fetch(`${proxy.url}/api/products`);
 * await proxy.close();
 */
export async function startStrangler(options: StranglerOptions): Promise<Strangler> {
  const logger = options.logger ?? createLogger();
  const configPath = resolve(options.configPath);
  const config = await loadConfigFile(configPath);
  const pools = new BackendPools();
  let current = buildProxyState(config, pools);
  const holder = {
    get current() {
      return current;
    },
  };
  let serving = false;
  const dataPlane = createDataPlane({ state: holder, decider: createPercentageDecider(), logger });
  const admin = createAdaptorServer({ fetch: createAdminApp({ isServing: () => serving }).fetch }) as Server;

  const host = options.host ?? "0.0.0.0";
  const adminHost = options.adminHost ?? "127.0.0.1";
  let port: number;
  let adminPort: number;
  try {
    adminPort = await listen(admin, options.adminPort ?? 9901, adminHost);
    port = await listen(dataPlane, options.port ?? 8080, host);
  } catch (error) {
    admin.close();
    dataPlane.close();
    await pools.close(true);
    throw error;
  }
  serving = true;
  logger.info({ port, host, adminPort, adminHost, routes: config.routes.length, config: configPath }, "proxy listening");

  let reloading: Promise<ReloadResult> = Promise.resolve({ applied: true });
  async function reloadNow(): Promise<ReloadResult> {
    try {
      const next = await loadConfigFile(configPath);
      current = buildProxyState(next, pools);
      logger.info({ routes: next.routes.length }, "config reloaded");
      return { applied: true };
    } catch (error) {
      const issues = error instanceof ConfigError ? error.issues : [(error as Error).message];
      logger.error({ issues, config: configPath }, "config reload refused; the last good config keeps serving");
      return { applied: false, issues };
    }
  }
  // Reloads run one at a time, in order, so the last edit is the one that wins.
  const reload = (): Promise<ReloadResult> => (reloading = reloading.then(reloadNow, reloadNow));
  const stopWatching = options.watch === false ? () => undefined : watchFile(configPath, () => void reload());

  return {
    port,
    adminPort,
    url: urlOf(host, port),
    adminUrl: urlOf(adminHost, adminPort),
    state: () => current,
    reload,
    async close(graceMs = 5_000) {
      stopWatching();
      serving = false;
      const closed = Promise.all([
        new Promise<void>((r) => dataPlane.close(() => r())),
        new Promise<void>((r) => admin.close(() => r())),
      ]);
      dataPlane.closeIdleConnections();
      admin.closeIdleConnections();
      const timer = setTimeout(() => {
        dataPlane.closeAllConnections();
        admin.closeAllConnections();
      }, graceMs);
      await closed;
      clearTimeout(timer);
      await pools.close(true);
    },
  };
}
