import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { freePort } from "../../scripts/free-port.ts";

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A real HAProxy (Debian's) in front of the proxy, run in the foreground by the test. */
export interface HaproxyFront {
  /** The port of each frontend, by name. */
  readonly ports: Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

/**
 * Starts HAProxy with one frontend per entry of `frontends` (name → the lines of its frontend and
 * backend sections, with `PORT` standing for the frontend's port). A port taken between asking and
 * binding (another test's) makes HAProxy fail: it is tried again with fresh ports, up to 5 times.
 */
export async function startHaproxy(dir: string, frontends: Record<string, (port: number) => string>): Promise<HaproxyFront> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const ports: Record<string, number> = {};
    for (const name of Object.keys(frontends)) ports[name] = await freePort();
    const config = [
      "global",
      "  maxconn 1000",
      "defaults",
      "  timeout connect 2s",
      "  timeout client 30s",
      "  timeout server 30s",
      ...Object.entries(frontends).map(([name, section]) => section(ports[name] as number)),
    ].join("\n");
    const path = join(dir, `haproxy-${attempt}.cfg`);
    writeFileSync(path, `${config}\n`);
    const child: ChildProcess = spawn("haproxy", ["-db", "-f", path], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, "exit").then(() => false);
    const ready = (async () => {
      for (let i = 0; i < 100; i++) {
        if ((await Promise.all(Object.values(ports).map(accepts))).every(Boolean)) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    })();
    if (await Promise.race([ready, exited])) {
      return {
        ports,
        async stop() {
          if (child.exitCode === null) {
            child.kill("SIGTERM");
            await once(child, "exit");
          }
        },
      };
    }
    child.kill("SIGKILL");
    if (!/cannot bind|Address already in use/i.test(stderr)) throw new Error(`haproxy did not start:\n${stderr}`);
  }
  throw new Error("haproxy did not start: no free ports after 5 tries");
}
