/**
 * nginx as the benches run it: a reverse proxy with upstream keep-alive to one backend, plain or
 * terminating TLS (and HTTP/2), in a temp prefix, on a free loopback port, as one worker process.
 */
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Started } from "./processes.ts";
import { freePort } from "../scripts/free-port.ts";

/** Debian puts nginx in /usr/sbin, which a user's PATH may lack. */
export const NGINX_BINARY = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => existsSync(path));

export interface NginxOptions {
  readonly backendPort: number;
  /** Certificate and key files: serve HTTPS (TLS 1.2 and 1.3). */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly http2?: boolean;
  /** `master_process off`: nginx as a single process (for callgrind). */
  readonly singleProcess?: boolean;
  /** A command nginx runs under (valgrind and its arguments), if any. */
  readonly wrapper?: readonly string[];
  readonly env?: Record<string, string>;
  /** How long it may take to accept connections (longer under valgrind). Default 5 s. */
  readonly startTimeoutMs?: number;
}

/** Starts nginx; resolves once it accepts connections, or rejects (it is stopped) if it does not. */
export async function startNginx(options: NginxOptions): Promise<{ port: number; proc: Started }> {
  if (!NGINX_BINARY) throw new Error("nginx is not installed (npm run bench installs it: scripts/ensure-bench-tools.sh)");
  const dir = mkdtempSync(join(tmpdir(), "strangler-bench-nginx-"));
  const port = await freePort();
  const tls = options.tls;
  const listen = tls
    ? `listen 127.0.0.1:${port} ssl${options.http2 ? " http2" : ""}; ssl_certificate ${tls.cert}; ssl_certificate_key ${tls.key}; ssl_protocols TLSv1.2 TLSv1.3;`
    : `listen 127.0.0.1:${port};`;
  writeFileSync(
    join(dir, "nginx.conf"),
    `worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http { access_log off; upstream backend { server 127.0.0.1:${options.backendPort}; keepalive 128; }
  server { ${listen} location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`,
  );
  const directives = options.singleProcess ? "daemon off; master_process off;" : "daemon off;";
  const command = [...(options.wrapper ?? []), NGINX_BINARY, "-p", dir, "-c", join(dir, "nginx.conf"), "-g", directives];
  const child = spawn(command[0] as string, command.slice(1), { env: { ...process.env, ...options.env }, stdio: "ignore" });
  const proc: Started = {
    child,
    ready: {},
    async stop() {
      // One that already exited (it could not start) would never emit "exit" again.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await acceptingOn(port, options.startTimeoutMs ?? 5_000);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { port, proc };
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port` (nginx prints nothing when it starts); throws after `timeoutMs`. */
async function acceptingOn(port: number, timeoutMs = 5_000): Promise<void> {
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
