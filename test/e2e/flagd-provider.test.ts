import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketOf, inRollout } from "../../src/decision/bucketing.ts";
import { flagdDocument } from "../../src/flags/flagd-export.ts";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

// The config file lives in a temp dir, so it names the provider by its resolved path, as a file elsewhere would name its package.
const FLAGD = createRequire(import.meta.url).resolve("@openfeature/flagd-provider");

/**
 * The flagd provider in in-process mode, reading a flags file (what `strangler flags export --format
 * flagd` writes) as `openFeature.provider`: the proxy then routes by flagd's evaluation, and every user
 * is where the built-in provider would have put them.
 */
describe("flagd, in process, from a flags file", () => {
  const temp = makeTempDir();
  const flagsFile = join(temp.dir, "flags.json");
  const keys = Array.from({ length: 300 }, (_, i) => `user-${i}`);
  let legacy: Fixture;
  let service: Fixture;
  let proxy: Strangler;

  const writeFlags = (percent: number) => writeFileSync(flagsFile, JSON.stringify(flagdDocument([{ id: "products", percent, salt: "" }])));
  const sides = async () => {
    const out: string[] = [];
    for (const key of keys) out.push(await (await fetch(`${proxy.url}/api/products`, { headers: { "x-user-id": key } })).text());
    return out;
  };
  const builtIn = (percent: number) => keys.map((key) => (inRollout(bucketOf("products", key), percent) ? "service" : "legacy"));

  beforeAll(async () => {
    legacy = await startFixture((_req, res) => res.end("legacy"));
    service = await startFixture((_req, res) => res.end("service"));
    writeFlags(30);
    const configPath = join(temp.dir, "routes.config.ts");
    writeFileSync(
      configPath,
      `import { FlagdProvider } from ${JSON.stringify(FLAGD)};
export default {
  backends: { legacy: { url: ${JSON.stringify(legacy.url)} }, svc: { url: ${JSON.stringify(service.url)} } },
  routes: [{ id: "products", match: { path: "/api/products" }, target: "svc", rollout: { percent: 0 } }],
  openFeature: { provider: new FlagdProvider({ resolverType: "in-process", offlineFlagSourcePath: ${JSON.stringify(flagsFile)} }) },
};
`,
    );
    proxy = await startTestProxy(configPath);
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all([legacy.close(), service.close()]);
    temp.remove();
  });

  it("routes every user where the built-in provider would", async () => {
    expect(await sides()).toEqual(builtIn(30));
  });

  it("follows an edit of the flags file, adding users and moving none back", async () => {
    writeFlags(60);
    const deadline = Date.now() + 10_000;
    let now = await sides();
    while (Date.now() < deadline && now.join() !== builtIn(60).join()) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      now = await sides();
    }
    expect(now).toEqual(builtIn(60));
    const before = builtIn(30);
    expect(keys.filter((_, i) => before[i] === "service" && now[i] !== "service")).toEqual([]);
  });
});
