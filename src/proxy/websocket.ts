import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { createProxyServer } from "http-proxy";
import type { Logger } from "pino";
import type { Backend } from "./backend-pool.ts";
import { endSocketWithError } from "./upstream-error.ts";

/** Proxies WebSocket (and other HTTP/1.1 upgrade) requests to a backend, through `http-proxy` (http-proxy-3). */
export interface UpgradeProxy {
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, backend: Backend, pathAndQuery: string, requestId: string): void;
  close(): void;
}

export function createUpgradeProxy(logger: Logger): UpgradeProxy {
  const proxy = createProxyServer({ ws: true, xfwd: true, changeOrigin: true });
  return {
    upgrade(req, socket, head, backend, pathAndQuery, requestId) {
      req.url = backend.basePath + pathAndQuery;
      req.headers["x-request-id"] = requestId;
      socket.on("error", () => socket.destroy());
      proxy.ws(req, socket, head, { target: backend.config.url, proxyTimeout: backend.config.responseTimeoutMs }, (error: Error) => {
        logger.warn({ requestId, backend: backend.name, err: error.message }, "websocket upstream failure");
        if (socket.writable && !socket.destroyed) {
          endSocketWithError(socket, "502 Bad Gateway", { code: "upstream_error", message: `backend "${backend.name}" refused the upgrade`, requestId });
        } else {
          socket.destroy();
        }
      });
    },
    close() {
      proxy.close();
    },
  };
}
