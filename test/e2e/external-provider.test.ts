import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

// The config file lives in a temp dir, so it names the SDK by its resolved path, as a file elsewhere would name its package.
const SDK = createRequire(import.meta.url).resolve("@openfeature/server-sdk");

describe("another OpenFeature provider, configured in routes.config.ts", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let service: Fixture;
  let proxy: Strangler;

  beforeAll(async () => {
    legacy = await startFixture((_req, res) => res.end("legacy"));
    service = await startFixture((_req, res) => res.end("service"));
    const configPath = join(temp.dir, "routes.config.ts");
    writeFileSync(
      configPath,
      `import { InMemoryProvider } from ${JSON.stringify(SDK)};
const variants = { legacy: "legacy", target: "target" };
export default {
  backends: { legacy: { url: ${JSON.stringify(legacy.url)} }, svc: { url: ${JSON.stringify(service.url)} } },
  routes: [
    { id: "moved", match: { path: "/moved" }, target: "svc", rollout: { percent: 0 } },
    { id: "kept", match: { path: "/kept" }, target: "svc", rollout: { percent: 100 } },
  ],
  openFeature: {
    provider: new InMemoryProvider({
      "strangler.route.moved": { variants, defaultVariant: "target", disabled: false },
      "strangler.route.kept": { variants, defaultVariant: "legacy", disabled: false },
    }),
  },
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

  it("routes by that provider's flags, whatever the file's percentages say", async () => {
    expect(await (await fetch(`${proxy.url}/moved`)).text()).toBe("service");
    expect(await (await fetch(`${proxy.url}/kept`)).text()).toBe("legacy");
  });

  it("the admin API refuses to change percentages it does not own, with 409", async () => {
    const res = await fetch(`${proxy.adminUrl}/api/routes/moved/rollout`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ percent: 0, reason: "x" }),
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: "externally_managed" } });
  });
});
