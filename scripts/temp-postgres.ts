import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/**
 * A throwaway PostgreSQL cluster (for a test file, or `npm run demo:fleet`): `initdb` in a temp dir,
 * `pg_ctl` on a free port on loopback, trust authentication, no system service. Debian's `postgresql`
 * package provides the binaries (scripts/ensure-test-tools.sh installs it for the tests); as root, the
 * server runs as `postgres`, since PostgreSQL refuses to run as root. Not for production: no fsync.
 */
export interface TempPostgres {
  /** `postgres://…` of a fresh database on the cluster. */
  readonly url: string;
  /** Another fresh database on the same cluster (for a test that needs its own). */
  createDatabase(name: string): Promise<string>;
  /** The server's main process (its backends are its children): for measuring the database's CPU. */
  postmasterPid(): number;
  stop(): Promise<void>;
}

/** The newest PostgreSQL server's binaries Debian installed, or undefined when there are none. */
export function postgresBinDir(): string | undefined {
  for (const dir of ["/usr/lib/postgresql"]) {
    if (!existsSync(dir)) continue;
    const versions = readdirSync(dir).filter((v) => existsSync(join(dir, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(dir, versions[0], "bin");
  }
  return undefined;
}

export const POSTGRES_MISSING = "PostgreSQL's initdb was not found under /usr/lib/postgresql: install Debian's postgresql package (apt-get install -y postgresql; scripts/ensure-test-tools.sh does it for the tests)";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function startTempPostgres(options: { readonly maxConnections?: number } = {}): Promise<TempPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(POSTGRES_MISSING);
  const root = mkdtempSync(join(tmpdir(), "strangler-pg-"));
  const data = join(root, "data");
  const asRoot = process.getuid?.() === 0;
  const run = (file: string, args: string[]) => (asRoot ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, args]) as [string, string[]];
  if (asRoot) {
    const { uid, gid } = { uid: Number(execFileSync("id", ["-u", "postgres"]).toString()), gid: Number(execFileSync("id", ["-g", "postgres"]).toString()) };
    chownSync(root, uid, gid);
    chmodSync(root, 0o700);
  }
  const [initdb, initArgs] = run(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C"]);
  execFileSync(initdb, initArgs, { stdio: "pipe" });
  const port = await freePort();
  // Small and quick: no fsync (a test's data is thrown away), sockets only on loopback TCP.
  writeFileSync(join(data, "postgresql.auto.conf"), `listen_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = ''\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = ${options.maxConnections ?? 100}\n`);
  if (asRoot) execFileSync("chown", ["postgres:postgres", join(data, "postgresql.auto.conf")]);
  const [pgCtl, startArgs] = run(join(bin, "pg_ctl"), ["-D", data, "-l", join(root, "server.log"), "-w", "-t", "30", "start"]);
  execFileSync(pgCtl, startArgs, { stdio: "pipe" });
  const base = `postgres://postgres@127.0.0.1:${port}`;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  const createDatabase = async (name: string) => {
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, "")}"`);
    return `${base}/${name}`;
  };
  const url = await createDatabase("strangler");
  return {
    url,
    createDatabase,
    postmasterPid: () => Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]),
    async stop() {
      await admin.end().catch(() => undefined);
      const [stopCtl, stopArgs] = run(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
      await new Promise<void>((resolve) => spawn(stopCtl, stopArgs, { stdio: "ignore" }).on("exit", () => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
