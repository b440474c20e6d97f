import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { adminJson } from "../helpers/admin.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { until } from "../helpers/wait.ts";

type Side = "legacy" | "target";
type Answer = (side: Side, url: URL, res: ServerResponse) => void;

function json(res: ServerResponse, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(200, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(value));
}

/** A keyless list: no `id`, each element with a score that changes on every call (noise the route has not learned). */
const shelf = ["tea", "jam", "oats", "rice", "figs", "salt"].map((name, i) => ({ name, price: 2 + i, aisle: `a${i}` }));

/** 2,000 rows, each with a token that changes on every call; the service's row 1,500 has another price. */
function rows(side: Side): unknown {
  return { rows: Array.from({ length: 2_000 }, (_, i) => ({ n: i, price: side === "target" && i === 1_500 ? 99 : i % 7, token: randomUUID() })) };
}

/** What each path answers, per side: each case of the comparer's frontier, as a monolith and a service would send it. */
const answers: Record<string, Answer> = {
  // Reversed by the service, every element with a fresh score: one order (and the score), not every field.
  "/similar": (side, _url, res) => {
    const list = shelf.map((e) => ({ ...e, score: Math.random() }));
    json(res, { items: side === "legacy" ? list : list.reverse() });
  },
  // The service's ids are strings where the monolith's are numbers; and one price really changed.
  "/retyped-key": (side, _url, res) => {
    json(res, { items: [1, 2, 3].map((id) => ({ id: side === "legacy" ? id : String(id), price: side === "target" && id === 3 ? 31 : id * 10 })) });
  },
  "/deep-change": (side, _url, res) => json(res, rows(side)),
  // A page with a fresh CSRF token and render time on every call; the service's price really differs.
  "/page": (side, _url, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    const now = new Date(Date.now() + Math.floor(Math.random() * 100_000)).toISOString();
    res.end(`<!doctype html>\n<html>\n<body>\n<form><input type="hidden" name="csrf" value="${randomUUID()}"></form>\n<h1>Tea</h1>\n<p class="price">Price: ${side === "legacy" ? "4.99" : "5.49"}</p>\n<footer>Rendered at ${now}</footer>\n</body>\n</html>\n`);
  },
  // A page of a list with an opaque cursor (in the body and in Link's rel="next") and a session cookie,
  // fresh on every call; the service counts one item fewer and drops rel="first".
  "/cursor": (side, _url, res) => {
    const cursor = randomUUID();
    const links = [`<https://api.example/items?cursor=${cursor}>; rel="next"`, ...(side === "legacy" ? ['<https://api.example/items>; rel="first"'] : [])];
    res.setHeader("link", links.join(", "));
    res.setHeader("set-cookie", [`session=${randomUUID()}; Path=/; HttpOnly`, "theme=dark; Path=/"]);
    res.setHeader("cache-control", "private, max-age=0");
    json(res, { items: shelf.slice(0, 2), next_cursor: cursor, total_count: side === "legacy" ? 40 : 39 });
  },
  // Two implementations of a list endpoint: the monolith lists 20 articles, the service 5, each of those
  // with twelve fields changed (60 differences before the 15 removed and the count).
  "/articles": (side, _url, res) => {
    const article = (i: number, shift: number) => ({ slug: `a-${i}`, title: `Title ${i}`, body: "x".repeat(500), ...Object.fromEntries(Array.from({ length: 12 }, (_, f) => [`f${f}`, i + shift])) });
    json(res, side === "legacy" ? { articles: Array.from({ length: 20 }, (_, i) => article(i, 0)), articlesCount: 20 } : { articles: Array.from({ length: 5 }, (_, i) => article(i, 100)), articlesCount: 5 });
  },
  // The monolith lists in no stable order (its order is noise); with ?broken the service sends an object.
  "/order-noise": (side, url, res) => {
    const items = shelf.map((e) => e.name).sort(() => Math.random() - 0.5);
    json(res, { items: side === "target" && url.searchParams.has("broken") ? { names: items } : items });
  },
  // Numbers and types: within the tolerance, a real change, a number's string, and null against missing.
  "/numbers": (side, _url, res) => {
    json(res, side === "legacy" ? { price: 4.99, cost: 4.99, weight: 4.99, discount: null, a: 1, b: 2 } : { b: 2, a: 1, price: 4.990000001, cost: 5.99, weight: "4.99" });
  },
  // The same document gzip-encoded by one side and plain from the other; the second path really differs under brotli.
  "/encoded": (side, _url, res) => {
    const body = Buffer.from(JSON.stringify({ items: shelf }));
    if (side === "legacy") return void res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" }).end(gzipSync(body));
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  },
  "/encoded-changed": (side, _url, res) => {
    const body = Buffer.from(JSON.stringify({ items: shelf.map((e, i) => ({ ...e, price: side === "target" && i === 2 ? 40 : e.price })) }));
    if (side === "target") return void res.writeHead(200, { "content-type": "application/json", "content-encoding": "br" }).end(brotliCompressSync(body));
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  },
};

function handler(side: Side) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://fixture");
    // A route's path may carry a suffix (`/encoded/asked`): the longest known prefix answers.
    const known = Object.keys(answers)
      .filter((p) => url.pathname === p || url.pathname.startsWith(`${p}/`))
      .sort((a, b) => b.length - a.length)[0];
    if (known === undefined) return void res.writeHead(404).end();
    (answers[known] as Answer)(side, url, res);
  };
}

interface Signature {
  readonly path: string;
  readonly kind: string;
  readonly count: number;
}

describe("the comparer on what real APIs send, against real backends through the proxy", () => {
  const temp = makeTempDir();
  let legacy: Fixture;
  let target: Fixture;
  let proxy: Strangler;

  beforeAll(async () => {
    legacy = await startFixture(handler("legacy"));
    target = await startFixture(handler("target"));
    const route = (id: string, path: string, shadow: Record<string, unknown> = {}) => ({
      id,
      match: { methods: ["GET"], path },
      target: "target",
      rollout: { percent: 0 },
      shadow: { percent: 100, noise: { learn: false }, ...shadow },
    });
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: legacy.url }, target: { url: target.url } },
        routes: [
          route("similar", "/similar", { compare: { keyNames: [] } }),
          route("retyped-key", "/retyped-key"),
          // Learns the token as noise first (every read double-asked), then finds the price under it.
          route("deep-change", "/deep-change", { noise: { learn: true, warmupSamples: 1_000, minOccurrences: 2 }, maxResponseBytes: 4 * 1024 * 1024 }),
          route("page", "/page", { noise: { learn: true, warmupSamples: 1_000, minOccurrences: 2 } }),
          route("cursor", "/cursor", { noise: { learn: true, warmupSamples: 1_000, minOccurrences: 2 }, compare: { headers: ["content-type", "link", "set-cookie", "cache-control"] } }),
          route("articles", "/articles"),
          route("order-noise", "/order-noise", { noise: { learn: true, warmupSamples: 1_000, minOccurrences: 2 } }),
          route("numbers", "/numbers", { compare: { numericTolerance: 0.001 } }),
          route("encoded", "/encoded"),
          route("encoded-asked", "/encoded/asked", { compare: { headers: ["content-type", "content-encoding"] } }),
          route("encoded-changed", "/encoded-changed"),
        ],
      }),
    );
  });
  afterAll(async () => {
    await proxy?.close();
    await Promise.all([legacy?.close(), target?.close()]);
    temp.remove();
  });

  const report = (route: string) => adminJson<{ counts: { match: number; diverge: number; error: number } }>(proxy.adminUrl, `/api/routes/${route}/shadow`);
  const signatures = async (route: string) => (await adminJson<{ signatures: Signature[] }>(proxy.adminUrl, `/api/routes/${route}/divergences?status=all`)).signatures.map((s) => `${s.kind} ${s.path}`).sort();
  const seen = new Map<string, number>();
  /** `n` more reads of `path`, then the route's comparisons once they are all in. */
  async function compared(route: string, path: string, n: number) {
    const total = (seen.get(route) ?? 0) + n;
    seen.set(route, total);
    for (let i = 0; i < n; i++) await (await fetch(`${proxy.url}${path}`)).arrayBuffer();
    return until(() => report(route), (r) => r.counts.match + r.counts.diverge + r.counts.error >= total, 15_000);
  }

  it("a keyless list the service reverses, each element with a fresh score, is one order and the score: not every field", async () => {
    const r = await compared("similar", "/similar", 3);
    expect(r.counts.diverge).toBe(3);
    // Before similarity pairing: changed $.items[*].name, .price, .aisle and .score, and the order unseen.
    expect(await signatures("similar")).toEqual(["changed $.items[*].score", "order $.items"]);
  });

  it("an id served as a string pairs the elements anyway: one type_changed at the key, and the real change beside it", async () => {
    await compared("retyped-key", "/retyped-key", 2);
    // Before: removed $.items[*] and added $.items[*], the price change lost among them.
    expect(await signatures("retyped-key")).toEqual(["changed $.items[*].price", "type_changed $.items[*].id"]);
  });

  it("a noisy token in each of 2,000 rows does not spend the cap: the one changed price deep inside is found", async () => {
    // The first reads teach the token (the monolith asked twice differs there), each compared before the
    // next is sent; the later ones set it aside.
    for (let n = 1; n <= 2; n++) await compared("deep-change", "/deep-change", n);
    await compared("deep-change", "/deep-change", 3);
    const noise = await adminJson<{ noise: { fields: Array<{ path: string; isNoise: boolean }> } }>(proxy.adminUrl, "/api/routes/deep-change/shadow");
    expect(noise.noise.fields.filter((f) => f.isNoise).map((f) => f.path)).toEqual(["$.rows[*].token"]);
    // Before: 500 token differences filled the cap and the price at row 1,500 was never reported.
    expect(await signatures("deep-change")).toEqual(["changed $.rows[*].price"]);
  });

  it("an HTML page is compared by its places: the token and the time that change on every call are learned as noise, the real price change is reported with its line", async () => {
    for (let n = 1; n <= 3; n++) await compared("page", "/page", 1);
    const noise = await adminJson<{ noise: { fields: Array<{ path: string; isNoise: boolean }> } }>(proxy.adminUrl, "/api/routes/page/shadow");
    expect(noise.noise.fields.filter((f) => f.isNoise).map((f) => f.path).sort()).toEqual(['body:after "name csrf value"', 'body:after "price p footer"']);
    await compared("page", "/page", 2);
    // Before: the whole body, which differed on every call, learned as noise, and the price never reported.
    const { signatures: found } = await adminJson<{ signatures: Array<Signature & { examples: Array<{ diff: string[] }> }> }>(proxy.adminUrl, "/api/routes/page/divergences?status=all&examples=1");
    expect(found.map((s) => `${s.kind} ${s.path}`)).toEqual(['changed body:after "p class price"']);
    expect(found[0]?.examples[0]?.diff.join("\n")).toMatch(/^changed body:after "p class price": line 6: ….*<h1>Tea<\/h1> <p class="price">Price: 4.99<\/p>.* → line 6: .*Price: 5.49<\/p>/);
  });

  it("an opaque cursor in the body and in Link's rel=next, and a session cookie, are learned as noise by part; a changed total_count and a missing rel=first are found", async () => {
    for (let n = 1; n <= 3; n++) await compared("cursor", "/cursor", 1);
    const noise = await adminJson<{ noise: { fields: Array<{ path: string; isNoise: boolean }> } }>(proxy.adminUrl, "/api/routes/cursor/shadow");
    expect(noise.noise.fields.filter((f) => f.isNoise).map((f) => f.path).sort()).toEqual(["$.next_cursor", "header:link;rel=next", "header:set-cookie;session"]);
    await compared("cursor", "/cursor", 2);
    // Before: the whole Link and Set-Cookie headers learned as noise, and the missing rel="first" never reported.
    expect(await signatures("cursor")).toEqual(["changed $.total_count", "removed header:link;rel=first"]);
  });

  it("each signature's example shows that signature's own difference first, and says when its bodies were cut", async () => {
    await compared("articles", "/articles", 1);
    type Example = { diff: string[]; truncated: { request: boolean; legacy: boolean; target: boolean }; legacyBody: string };
    const { signatures: found } = await adminJson<{ signatures: Array<Signature & { examples: Example[] }> }>(proxy.adminUrl, "/api/routes/articles/divergences?status=all&examples=1");
    expect(found.map((s) => `${s.kind} ${s.path}`).sort()).toEqual(["changed $.articlesCount", "removed $.articles[*]", ...Array.from({ length: 12 }, (_, f) => `changed $.articles[*].f${f}`)].sort());
    // Before: every signature's example held the pair's first 50 differences, all of them article fields:
    // neither `changed $.articlesCount` nor `removed $.articles[*]` appeared in its own example.
    for (const s of found) {
      const [first] = s.examples[0]?.diff ?? [];
      expect(first, `${s.kind} ${s.path}`).toMatch(new RegExp(`^${s.kind} ${s.path.replace(/[$.[\]*]/g, (c) => (c === "*" ? "\\d+" : `\\${c}`))}`));
    }
    expect(found.find((s) => s.path === "$.articlesCount")?.examples[0]?.diff[0]).toBe("changed $.articlesCount: 20 → 5");
    // The monolith's body (20 articles, 12 KB) was cut to exampleBodyBytes (8 KB), and the API says so.
    const example = found[0]?.examples[0] as Example;
    expect(example.truncated).toEqual({ request: false, legacy: true, target: false });
    expect(example.legacyBody.endsWith("… (truncated)")).toBe(true);

    // And the cockpit, in Chromium: the example's monolith body says it was cut; the service's does not.
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${proxy.adminUrl}/dashboard#/route/articles`);
      await page.waitForSelector(".example .pair");
      const labels = await page.locator(".example").first().locator(".pair > div > .muted").allTextContents();
      expect(labels).toEqual(["monolith (body cut: only its first exampleBodyBytes are stored; the differences above were found in the whole body)", "service"]);
    } finally {
      await browser.close();
    }
  });

  it("noise is kept by place and kind: a list whose order is noise still reads type_changed when it stops being a list", async () => {
    // Six reads: the monolith asked twice orders its list differently nearly every time.
    for (let n = 1; n <= 6; n++) await compared("order-noise", "/order-noise", 1);
    const shadow = await adminJson<{ noise: { fields: Array<{ path: string; kind: string; isNoise: boolean }> } }>(proxy.adminUrl, "/api/routes/order-noise/shadow");
    expect(shadow.noise.fields.filter((f) => f.isNoise).map((f) => `${f.kind} ${f.path}`)).toEqual(["order $.items"]);
    expect(await signatures("order-noise")).toEqual([]);
    await compared("order-noise", "/order-noise?broken", 1);
    // Before: the noise was kept by path, so `$.items` being noise hid this too.
    expect(await signatures("order-noise")).toEqual(["type_changed $.items"]);
  });

  it("numbers within the route's tolerance are equal; a real change, a number's string and null against missing are each their kind", async () => {
    await compared("numbers", "/numbers", 2);
    expect(await signatures("numbers")).toEqual(["changed $.cost", "null_vs_missing $.discount", "type_changed $.weight"]);
  });

  it("gzip on one side and identity on the other with the same content is a match; Content-Encoding is a difference only where the route lists it", async () => {
    const plain = await compared("encoded", "/encoded", 2);
    expect(plain.counts).toMatchObject({ match: 2, diverge: 0 });
    await compared("encoded-asked", "/encoded/asked", 2);
    expect(await signatures("encoded-asked")).toEqual(["removed header:content-encoding"]);
  });

  it("a real difference under compression (brotli against identity) is found at its field", async () => {
    await compared("encoded-changed", "/encoded-changed", 2);
    expect(await signatures("encoded-changed")).toEqual(["changed $.items[*].price"]);
  });
});
