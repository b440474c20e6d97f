/**
 * `npm run demo`: starts the demo monolith, the extracted catalog and orders services, and the proxy in
 * front of them with the shipped routes.config.ts; prints the URLs; stops everything on Ctrl-C. The
 * proxy runs compiled (dist/, built first as `npm run build` does); the demo's own apps run through tsx.
 *
 * `npm run demo:fleet` (`--fleet`): the same with a throwaway PostgreSQL cluster (Debian's `postgresql`
 * package must be installed) and three proxy nodes on it, on consecutive ports (8080-8082, admin
 * 9901-9903), as replicas behind a load balancer run.
 *
 * `npm run demo -- --tls`: the proxy serves HTTPS (and HTTP/2) and the admin listener HTTPS, with a
 * certificate for localhost, 127.0.0.1 and ::1 from a throwaway CA made on the first run and kept in
 * DATA_DIR/tls (ca.crt is the one to trust; delete the folder for a new one).
 *
 * Environment: DATA_DIR (default ./data), PORT (proxy, 8080), ADMIN_PORT (9901), LEGACY_PORT (3001),
 * CATALOG_PORT (3002), ORDERS_PORT (3003); 0 picks a free port (for every node of a fleet).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createThrowawayCa } from "../src/edge/throwaway-ca.ts";
import { build, DEFAULT_OUT_DIR } from "./build.ts";
import { postgresBinDir, POSTGRES_MISSING, startTempPostgres, type TempPostgres } from "./temp-postgres.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const dataDir = resolve(process.env.DATA_DIR ?? "data");
const children: ChildProcess[] = [];
const fleetSize = process.argv.includes("--fleet") ? 3 : 1;
const tls = process.argv.includes("--tls");

/** The demo's throwaway CA and certificate under DATA_DIR/tls, made on the first `--tls` run and kept. */
function demoCertificate(): { ca: string; cert: string; key: string } {
  const dir = join(dataDir, "tls");
  const files = { ca: join(dir, "ca.crt"), cert: join(dir, "tls.crt"), key: join(dir, "tls.key") };
  if (Object.values(files).every((f) => existsSync(f))) return files;
  mkdirSync(dir, { recursive: true });
  const ca = createThrowawayCa("strangler-fig demo CA");
  const leaf = ca.issue(["localhost", "127.0.0.1", "::1"], { validDays: 365 });
  writeFileSync(files.ca, ca.cert);
  writeFileSync(files.cert, leaf.cert);
  writeFileSync(files.key, leaf.key, { mode: 0o600 });
  return files;
}
let postgres: TempPostgres | undefined;
let stopping = false;

interface Listening {
  readonly port: number;
  readonly adminPort?: number;
}

/** Starts `entry` (TypeScript under tsx, JavaScript as it is) and resolves with its "listening" log line (a JSON object naming its port). */
function start(name: string, entry: string, env: Record<string, string>): Promise<Listening> {
  const child = spawn(process.execPath, entry.endsWith(".ts") ? ["--import", "tsx", entry] : [entry], {
    cwd: ROOT,
    // The demo waits for each child's "listening" line, an info line: quieter levels would hide it.
    env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: process.env.LOG_LEVEL === "debug" || process.env.LOG_LEVEL === "trace" ? process.env.LOG_LEVEL : "info", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  child.on("exit", (code, signal) => {
    if (stopping) return;
    // Ctrl-C in a terminal signals the whole process group: a child that stopped cleanly is part of that.
    const clean = code === 0 || signal === "SIGINT" || signal === "SIGTERM";
    if (!clean) console.error(`${name} exited (${signal ?? code}); stopping the demo`);
    void stopAll(clean ? 0 : 1);
  });
  return new Promise((resolveListening, reject) => {
    let buffered = "";
    let ready = false;
    child.stdout?.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      if (ready) return void process.stdout.write(text);
      buffered += text;
      for (const line of buffered.split("\n")) {
        if (!/"msg":"(proxy )?listening"/.test(line)) continue;
        ready = true;
        resolveListening(JSON.parse(line) as Listening);
        return;
      }
    });
    child.once("exit", () => reject(new Error(`${name} exited before it was listening`)));
  });
}

async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await once(child, "exit");
      clearTimeout(timer);
    }),
  );
  await postgres?.stop();
  process.exit(code);
}

process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

if (fleetSize > 1 && !postgresBinDir()) {
  console.error(`npm run demo:fleet needs PostgreSQL. ${POSTGRES_MISSING}`);
  process.exit(1);
}

try {
  // The proxy runs compiled, as in production: dist/ is brought up to date first (about 2 s when it is).
  build();
  const [legacy, catalog, orders] = await Promise.all([
    start("legacy-monolith", "legacy-monolith/src/main.ts", { PORT: process.env.LEGACY_PORT ?? "3001" }),
    start("catalog", "extracted-services/catalog/src/main.ts", { PORT: process.env.CATALOG_PORT ?? "3002" }),
    start("orders", "extracted-services/orders/src/main.ts", { PORT: process.env.ORDERS_PORT ?? "3003" }),
  ]);
  if (fleetSize > 1) postgres = await startTempPostgres();
  const certificate = tls ? demoCertificate() : undefined;
  // Consecutive ports for the nodes of a fleet; 0 stays 0 (a free port each).
  const portOf = (base: string, i: number) => (base === "0" ? "0" : String(Number(base) + i));
  const proxies = await Promise.all(
    Array.from({ length: fleetSize }, (_, i) =>
      start(fleetSize > 1 ? `proxy ${i + 1}` : "proxy", join(DEFAULT_OUT_DIR, "main.js"), {
        PORT: portOf(process.env.PORT ?? "8080", i),
        ADMIN_PORT: portOf(process.env.ADMIN_PORT ?? "9901", i),
        LEGACY_URL: `http://127.0.0.1:${legacy.port}`,
        CATALOG_URL: `http://127.0.0.1:${catalog.port}`,
        ORDERS_URL: `http://127.0.0.1:${orders.port}`,
        ...(postgres ? { DATABASE_URL: postgres.url } : {}),
        ...(certificate ? { TLS_CERT: certificate.cert, TLS_KEY: certificate.key } : {}),
      }),
    ),
  );
  const [proxy] = proxies as [Listening];
  const scheme = certificate ? "https" : "http";
  const proxyUrl = `${scheme}://127.0.0.1:${proxy.port}`;
  const services = `  legacy-monolith  http://127.0.0.1:${legacy.port}
  catalog          http://127.0.0.1:${catalog.port}
  orders           http://127.0.0.1:${orders.port}`;
  if (postgres) {
    const urls = proxies.map((p) => `${scheme}://127.0.0.1:${p.port}`).join(",");
    const admin = (p: Listening) => `${scheme}://127.0.0.1:${p.adminPort}`;
    const last = proxies[proxies.length - 1] as Listening;
    console.log(`
strangler-fig fleet demo is up: ${proxies.length} proxy nodes sharing one PostgreSQL
  postgres         ${postgres.url}  (a throwaway cluster, removed on Ctrl-C)
${proxies.map((p, i) => `  node ${i + 1}           proxy http://127.0.0.1:${p.port}  admin ${admin(p)}  dashboard ${admin(p)}/dashboard`).join("\n")}
${services}

Try:
  curl -s ${admin(proxy)}/api/fleet                          # the nodes, and which one judges
  npx strangler rollout products-list 100 --reason "fleet step" --url ${admin(proxy)}
  npx strangler routes --url ${admin(last)}     # node ${proxies.length} serves 100% too, within a second
  PROXY_URL=${urls} npm run traffic   # spread over every node
Ctrl-C stops everything and removes the cluster.
`);
  } else {
    const admin = `${scheme}://127.0.0.1:${proxy.adminPort}`;
    // Node's clients (the CLI, npm run traffic) trust the demo CA through NODE_EXTRA_CA_CERTS; curl through --cacert.
    const node = certificate ? `NODE_EXTRA_CA_CERTS=${certificate.ca} ` : "";
    const curl = certificate ? `curl --http2 --cacert ${certificate.ca}` : "curl";
    console.log(`
strangler-fig demo is up (data in ${dataDir})
  proxy            ${proxyUrl}${certificate ? "  (HTTPS, HTTP/2 by ALPN)" : ""}
  dashboard        ${admin}/dashboard
  admin            ${admin}/api/routes
${services}
${certificate ? `  CA to trust      ${certificate.ca}  (a throwaway CA: add it to a browser's authorities to open the pages without a warning)
` : ""}
Try:
  ${curl} -i ${proxyUrl}/api/products/p_001                      # served by catalog (100%)
  ${curl} -i -H 'x-user-id: alice' ${proxyUrl}/api/products     # catalog or legacy (50%), sticky per user
  ${curl} -i ${proxyUrl}/api/users/u_001                         # no route claims it: legacy
  ${node}npx strangler routes --url ${admin}     # live percentages
  ${node}npx strangler rollout products-list 100 --reason "catalog ready" --url ${admin}
  ${node}PROXY_URL=${proxyUrl} npm run traffic && ${node}npx strangler map --url ${admin}   # the monolith's endpoints, by traffic
  ${node}npx strangler map suggest --url ${admin}              # where to cut next
Edit routes.config.ts and save: the new percentages apply within a second. Ctrl-C stops everything.
`);
  }
} catch (error) {
  console.error(`demo failed to start: ${(error as Error).message}`);
  await stopAll(1);
}
