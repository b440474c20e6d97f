import { execFile } from "node:child_process";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { capturingLogger } from "../helpers/log-capture.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { createThrowawayCa, writePem } from "../helpers/tls.ts";

const run = promisify(execFile);

/** sslscan's verdict on each protocol and the suites it accepted. */
async function sslscan(port: number): Promise<{ protocols: Record<string, string>; ciphers: string[] }> {
  const { stdout } = await run("sslscan", ["--no-colour", "--no-check-certificate", "--no-heartbleed", `127.0.0.1:${port}`]);
  const protocols: Record<string, string> = {};
  for (const [, name, state] of stdout.matchAll(/^(SSLv2|SSLv3|TLSv1\.[0-3])\s+(enabled|disabled)$/gm)) protocols[name as string] = state as string;
  const ciphers = [...stdout.matchAll(/^(?:Preferred|Accepted)\s+\S+\s+\d+ bits\s+(\S+)/gm)].map((m) => m[1] as string);
  return { protocols, ciphers };
}

describe("real TLS clients against the listener", () => {
  const temp = makeTempDir();
  const ca = createThrowawayCa();
  let backend: Fixture;

  beforeAll(async () => {
    backend = await startFixture((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
    writePem(temp.dir, "tls", ca.issue(["127.0.0.1"]));
  });
  afterAll(async () => {
    await backend.close();
    temp.remove();
  });

  it("sslscan: no SSLv2, SSLv3, TLS 1.0 or 1.1; only forward-secret AEAD suites", async () => {
    const proxy = await startTestProxy(writeConfig(temp.dir, { backends: { legacy: { url: backend.url } }, server: { tls: { cert: "tls.crt", key: "tls.key" } } }, "scan.config.ts"));
    try {
      const { protocols, ciphers } = await sslscan(proxy.port);
      expect(protocols).toEqual({ SSLv2: "disabled", SSLv3: "disabled", "TLSv1.0": "disabled", "TLSv1.1": "disabled", "TLSv1.2": "enabled", "TLSv1.3": "enabled" });
      expect(ciphers.length).toBeGreaterThan(0);
      for (const cipher of ciphers) expect(cipher, cipher).toMatch(/^(TLS_AES_\d+_GCM_SHA\d+|TLS_CHACHA20_POLY1305_SHA256|ECDHE-(RSA|ECDSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305))$/);
    } finally {
      await proxy.close();
    }
  });

  it("sslscan: minVersion TLSv1.3 leaves TLS 1.3 alone", async () => {
    const proxy = await startTestProxy(writeConfig(temp.dir, { backends: { legacy: { url: backend.url } }, server: { tls: { cert: "tls.crt", key: "tls.key", minVersion: "TLSv1.3" } } }, "scan13.config.ts"));
    try {
      const { protocols } = await sslscan(proxy.port);
      expect(protocols["TLSv1.2"]).toBe("disabled");
      expect(protocols["TLSv1.3"]).toBe("enabled");
    } finally {
      await proxy.close();
    }
  });

  it("h2load across certificate swaps, a broken one among them: zero failed requests, the refusal logged", async () => {
    const dir = makeTempDir();
    const next = ca.issue(["127.0.0.1"]);
    writePem(dir.dir, "tls", ca.issue(["127.0.0.1"]));
    const log = capturingLogger();
    const proxy = await startTestProxy(writeConfig(dir.dir, { backends: { legacy: { url: backend.url } }, server: { tls: { cert: "tls.crt", key: "tls.key", reloadCheckMs: 100 } } }), { logger: log.logger });
    try {
      // 60 clients started 20 a second: new handshakes throughout the three seconds of swaps.
      const load = run("h2load", ["-n", "6000", "-c", "60", "-r", "20", "-m", "4", `${proxy.url}/`], { timeout: 60_000 });
      const swap = (name: string, pair: { cert: string; key: string }) => {
        writeFileSync(join(dir.dir, `${name}.crt`), pair.cert);
        writeFileSync(join(dir.dir, `${name}.key`), pair.key);
        renameSync(join(dir.dir, `${name}.key`), join(dir.dir, "tls.key"));
        renameSync(join(dir.dir, `${name}.crt`), join(dir.dir, "tls.crt"));
      };
      await new Promise((r) => setTimeout(r, 700));
      swap("good", next);
      await new Promise((r) => setTimeout(r, 700));
      writeFileSync(join(dir.dir, "tls.crt"), "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"); // a broken swap
      await new Promise((r) => setTimeout(r, 700));
      swap("again", ca.issue(["127.0.0.1"]));
      const { stdout } = await load;
      const summary = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(stdout);
      expect(summary, stdout).not.toBeNull();
      const [, total, , done, succeeded, failed, errored] = (summary as RegExpExecArray).map(Number);
      expect({ failed, errored }).toEqual({ failed: 0, errored: 0 });
      expect(done).toBe(total);
      expect(succeeded).toBe(total);
      expect(stdout).toMatch(/status codes: \d+ 2xx, 0 3xx, 0 4xx, 0 5xx/);
      expect(log.lines().filter((l) => l.msg === "TLS certificates reloaded").length).toBeGreaterThanOrEqual(2);
      expect(log.lines().some((l) => l.msg === "new TLS certificates refused; the previous ones keep serving")).toBe(true);
    } finally {
      await proxy.close();
      dir.remove();
    }
  });
});
