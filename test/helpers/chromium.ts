import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";

/**
 * Debian's Chromium, headless, as root, with nothing reaching out to the network (background
 * networking, component updates and sync off; this machine reaches no outside host). `extraArgs` adds
 * switches such as `--host-resolver-rules`.
 */
export async function launchChromium(extraArgs: readonly string[] = [], options: { readonly home?: string } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  return chromium.launch({
    executablePath: CHROMIUM,
    // Chromium on Linux reads the certificate authorities a user trusts from $HOME/.pki/nssdb.
    ...(options.home ? { env: { ...process.env, HOME: options.home } } : {}),
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", ...extraArgs],
  });
}

/**
 * A home folder whose NSS database trusts `caPem` as an authority for web servers, as a user who added
 * it to the browser would have it (certutil, from Debian's libnss3-tools). Launch with `{ home }`.
 */
export function homeTrusting(dir: string, caPem: string): string {
  const home = join(dir, "chromium-home");
  const db = join(home, ".pki", "nssdb");
  mkdirSync(db, { recursive: true });
  const caFile = join(home, "ca.crt");
  writeFileSync(caFile, caPem);
  execFileSync("certutil", ["-d", `sql:${db}`, "-N", "--empty-password"]);
  execFileSync("certutil", ["-d", `sql:${db}`, "-A", "-t", "C,,", "-n", "strangler-fig test CA", "-i", caFile]);
  return home;
}
