import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT_ACCESS } from "../../src/admin/endpoint-roles.ts";
import type { Strangler } from "../../src/strangler.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; requestBody?: unknown }>>;
}

/** `/openapi.json` cannot drift: every endpoint the admin app registers is in it, and nothing else is. */
describe("the admin API's OpenAPI document", () => {
  const temp = makeTempDir();
  let proxy: Strangler;
  let doc: OpenApi;
  beforeAll(async () => {
    proxy = await startTestProxy(writeConfig(temp.dir, { backends: { legacy: { url: "http://127.0.0.1:1" } } }));
    doc = (await (await fetch(`${proxy.adminUrl}/openapi.json`)).json()) as OpenApi;
  });
  afterAll(async () => {
    await proxy.close();
    temp.remove();
  });
  const asOpenApi = (path: string) => path.replace(/:([A-Za-z_]\w*)/g, "{$1}");

  it("lists every registered endpoint, and only those", () => {
    const registered = [...new Set(proxy.adminEndpoints().map((e) => `${e.method} ${asOpenApi(e.path)}`))].sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(registered.length).toBeGreaterThan(25);
    expect(documented).toEqual(registered);
  });

  it("gives every /api endpoint a role in the table the API enforces, and lists nothing else there", () => {
    const registered = [...new Set(proxy.adminEndpoints().filter((e) => e.path.startsWith("/api/")).map((e) => `${e.method} ${e.path}`))].sort();
    expect(ENDPOINT_ACCESS.map((e) => `${e.method} ${e.path}`).sort()).toEqual(registered);
  });

  it("names each path parameter, and describes a body for every write", () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(ops)) {
        expect((op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name), `${method} ${path}`).toEqual(names);
        if (method === "post" || method === "put") expect(op.requestBody, `${method} ${path}`).toBeDefined();
      }
    }
  });
});
