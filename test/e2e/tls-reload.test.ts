import { X509Certificate } from "node:crypto";
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect as connectHttp2 } from "node:http2";
import { join } from "node:path";
import { connect as connectTls } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { capturingLogger } from "../helpers/log-capture.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { createThrowawayCa, writePem, type ThrowawayCa } from "../helpers/tls.ts";

/** The SHA-256 fingerprint of the certificate the proxy serves now (no SNI). */
function servedFingerprint(port: number, ca: ThrowawayCa): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ port, host: "127.0.0.1", ca: ca.cert }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.once("error", reject);
  });
}

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

async function reloads(proxy: Strangler, outcome: "loaded" | "refused"): Promise<number> {
  const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
  return Number(new RegExp(`strangler_tls_certificate_reloads_total\\{listener="data",outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? "NaN");
}

describe("certificates replaced on disk are served within a second, without dropping connections", () => {
  const ca = createThrowawayCa();
  const first = ca.issue(["127.0.0.1"]);
  const second = ca.issue(["127.0.0.1"]);
  let backend: Fixture;
  const temps: Array<{ remove(): void }> = [];

  beforeAll(async () => {
    backend = await startFixture((_req, res) => res.end("ok"));
  });
  afterAll(async () => {
    await backend.close();
    for (const t of temps) t.remove();
  });

  /** A proxy serving `certPath`/`keyPath` (relative to its config), reading them every 100 ms. */
  async function proxyOn(dir: string, certPath: string, keyPath: string, log = capturingLogger()) {
    const proxy = await startTestProxy(writeConfig(dir, { backends: { legacy: { url: backend.url } }, server: { tls: { cert: certPath, key: keyPath, reloadCheckMs: 100 } } }), { logger: log.logger });
    return { proxy, log };
  }

  function freshDir(): string {
    const t = makeTempDir();
    temps.push(t);
    return t.dir;
  }

  it("an atomic rename of both files (one after the other) is served within a second", async () => {
    const dir = freshDir();
    writePem(dir, "tls", first);
    const { proxy } = await proxyOn(dir, "tls.crt", "tls.key");
    try {
      expect(await servedFingerprint(proxy.port, ca)).toBe(fingerprintOf(first.cert));
      writePem(dir, "staged", second);
      renameSync(join(dir, "staged.key"), join(dir, "tls.key"));
      renameSync(join(dir, "staged.crt"), join(dir, "tls.crt"));
      await expect.poll(() => servedFingerprint(proxy.port, ca), { timeout: 1_000, interval: 50 }).toBe(fingerprintOf(second.cert));
      expect(await reloads(proxy, "loaded")).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.close();
    }
  });

  it("a Kubernetes Secret volume's symlink swap (..data to a new folder) is served within a second", async () => {
    const dir = freshDir();
    const version = (name: string, pair: { cert: string; key: string }) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, "tls.crt"), pair.cert);
      writeFileSync(join(dir, name, "tls.key"), pair.key);
    };
    version("..v1", first);
    symlinkSync("..v1", join(dir, "..data"));
    symlinkSync("..data/tls.crt", join(dir, "tls.crt"));
    symlinkSync("..data/tls.key", join(dir, "tls.key"));
    const { proxy } = await proxyOn(dir, "tls.crt", "tls.key");
    try {
      expect(await servedFingerprint(proxy.port, ca)).toBe(fingerprintOf(first.cert));
      version("..v2", second);
      symlinkSync("..v2", join(dir, "..data_tmp"));
      renameSync(join(dir, "..data_tmp"), join(dir, "..data")); // what the kubelet does: one atomic rename
      await expect.poll(() => servedFingerprint(proxy.port, ca), { timeout: 1_000, interval: 50 }).toBe(fingerprintOf(second.cert));
      expect(await reloads(proxy, "refused")).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it("a key replaced before its certificate is refused (logged, counted, the old pair serving), then loaded once the certificate arrives", async () => {
    const dir = freshDir();
    writePem(dir, "tls", first);
    const { proxy, log } = await proxyOn(dir, "tls.crt", "tls.key");
    try {
      writeFileSync(join(dir, "tls.key"), second.key); // certbot: the key first...
      await expect.poll(() => reloads(proxy, "refused"), { timeout: 1_000, interval: 50 }).toBe(1);
      expect(await servedFingerprint(proxy.port, ca)).toBe(fingerprintOf(first.cert));
      const refusal = log.lines().find((l) => l.msg === "new TLS certificates refused; the previous ones keep serving");
      expect(String(refusal?.err)).toContain("is not the key of");
      writeFileSync(join(dir, "tls.crt"), second.cert); // ...then the certificate
      await expect.poll(() => servedFingerprint(proxy.port, ca), { timeout: 1_000, interval: 50 }).toBe(fingerprintOf(second.cert));
      expect(await reloads(proxy, "loaded")).toBe(1);
      expect(await reloads(proxy, "refused")).toBe(1); // refused once, not on every check
    } finally {
      await proxy.close();
    }
  });

  it("a broken certificate file is refused and the old pair keeps serving; an open HTTP/2 connection outlives a good swap", async () => {
    const dir = freshDir();
    writePem(dir, "tls", first);
    const { proxy } = await proxyOn(dir, "tls.crt", "tls.key");
    const session = connectHttp2(proxy.url, { ca: ca.cert });
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const stream = session.request({ ":path": "/x" });
        stream.once("response", (h) => resolve(Number(h[":status"])));
        stream.once("error", reject);
        stream.resume();
      });
    try {
      expect(await get()).toBe(200);
      writeFileSync(join(dir, "tls.crt"), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
      await expect.poll(() => reloads(proxy, "refused"), { timeout: 1_000, interval: 50 }).toBe(1);
      expect(await servedFingerprint(proxy.port, ca)).toBe(fingerprintOf(first.cert));
      writePem(dir, "tls", second);
      await expect.poll(() => servedFingerprint(proxy.port, ca), { timeout: 1_000, interval: 50 }).toBe(fingerprintOf(second.cert));
      expect(await get()).toBe(200); // the same session, opened under the first certificate
      expect(session.closed || session.destroyed).toBe(false);
    } finally {
      session.close();
      await proxy.close();
    }
  });

  it("a certificate file that goes missing is said once, and the certificate in service keeps serving", async () => {
    const dir = freshDir();
    writePem(dir, "tls", first);
    const { proxy, log } = await proxyOn(dir, "tls.crt", "tls.key");
    try {
      rmSync(join(dir, "tls.crt"));
      const warned = () => log.lines().filter((l) => l.msg === "certificate files cannot be read; the certificates in service keep serving");
      await expect.poll(() => warned().length, { timeout: 5_000, interval: 50 }).toBe(1);
      await new Promise((r) => setTimeout(r, 500)); // several more checks, each finding the file still missing
      const warnings = warned();
      expect(warnings).toHaveLength(1);
      expect(String(warnings[0]?.err)).toMatch(/server\.tls\.cert: cannot read .*tls\.crt \(ENOENT\)/);
      expect(await servedFingerprint(proxy.port, ca)).toBe(fingerprintOf(first.cert));
      expect(await reloads(proxy, "refused")).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it("start-up stops with the file named when a certificate does not load", async () => {
    const dir = freshDir();
    writeFileSync(join(dir, "tls.crt"), first.cert);
    writeFileSync(join(dir, "tls.key"), second.key);
    await expect(proxyOn(dir, "tls.crt", "tls.key")).rejects.toThrow(/server\.tls: .*tls\.key is not the key of .*tls\.crt/);
    await expect(proxyOn(dir, "missing.crt", "tls.key")).rejects.toThrow(/server\.tls\.cert: cannot read .*missing\.crt \(ENOENT\)/);
  });
});
