import { describe, expect, it } from "vitest";
import { validateConfig } from "../../../src/config/validate.ts";
import { issuesOf } from "../../helpers/config-issues.ts";

/**
 * Every rule of the config schema, one wrong field at a time: the exact line the author reads. With
 * test/unit/config/validate.test.ts (routes) and schema-bounds.test.ts (numeric bounds and defaults).
 */
const backends = { legacy: { url: "http://127.0.0.1:3001" }, catalog: { url: "http://127.0.0.1:3002" } };
const route = (over: Record<string, unknown> = {}) => ({ id: "r", match: { path: "/x" }, target: "catalog", rollout: { percent: 10 }, ...over });
const withRoute = (over: Record<string, unknown>) => ({ backends, routes: [route(over)] });
const shadowed = (shadow: Record<string, unknown>) => withRoute({ shadow: { percent: 1, ...shadow } });
const R = 'routes[0] (id "r")';


describe("config rules, one wrong field at a time", () => {
  it.each<[string, unknown, string[]]>([
    ["a backend name with a character after the letters", { backends: { ...backends, "ab!": { url: "http://x" } } }, ["backends.ab!: must be lower-case letters, digits, '-' or '_', starting with a letter"]],
    ["a backend name of 64 characters", { backends: { ...backends, ["a".repeat(64)]: { url: "http://x" } } }, [`backends.${"a".repeat(64)}: must be lower-case letters, digits, '-' or '_', starting with a letter`]],
    ["a backend with both url and urls", { backends: { ...backends, fleet: { url: "http://a:1", urls: ["http://b:1"] } } }, ["backends.fleet.urls: cannot be set beside url: name one URL (url) or several (urls)"]],
    ["a backend with neither url nor urls", { backends: { ...backends, fleet: {} } }, ["backends.fleet.url: is required (or urls: a list of instances)"]],
    ["instances with different base paths", { backends: { ...backends, fleet: { urls: ["http://a:1/v1", "http://b:1/v2"] } } }, ['backends.fleet.urls: every instance must have the same base path, got "/v1" and "/v2"']],
    ["the same instance twice", { backends: { ...backends, fleet: { urls: ["http://a:1", "http://a:1/"] } } }, ["backends.fleet.urls: names the same instance twice"]],
    ["an empty list of instances", { backends: { ...backends, fleet: { urls: [] } } }, ["backends.fleet.urls: must name at least one URL"]],
    ["a health check as long as its interval", { backends: { ...backends, fleet: { url: "http://a:1", healthCheck: { path: "/h", intervalMs: 500, timeoutMs: 500 } } } }, ["backends.fleet.healthCheck.timeoutMs: 500 must be shorter than intervalMs (500): a check must end before the next starts"]],
    ["a health check path without its slash", { backends: { ...backends, fleet: { url: "http://a:1", healthCheck: { path: "healthz" } } } }, ["backends.fleet.healthCheck.path: must be a path starting with '/' (no spaces or '#')"]],
    ["a health check's expected status out of range", { backends: { ...backends, fleet: { url: "http://a:1", healthCheck: { path: "/h", expectStatus: 700 } } } }, ["backends.fleet.healthCheck.expectStatus: must be a status from 100 to 599"]],
    ["retries that are neither false nor a budget", { backends: { ...backends, fleet: { url: "http://a:1", retries: true } } }, ["backends.fleet.retries: must be false or { budgetPercent, minConcurrent }"]],
    ["a rewrite to a parameter the route lacks", withRoute({ match: { path: "/api/products/:id" }, rewrite: { path: "/p/:sku" } }), [`${R}.rewrite.path: uses :sku, which the route's path "/api/products/:id" does not have (it has :id)`]],
    ["a rewrite stripping what the route's path does not start with", withRoute({ match: { path: "/api/x" }, rewrite: { stripPrefix: "/v1" } }), [`${R}.rewrite.stripPrefix: the route's path "/api/x" does not start with "/v1": the rewrite would not apply to its requests`]],
    ["a rewrite to a path with a dot-segment", withRoute({ match: { path: "/api/x" }, rewrite: { replacePrefix: { from: "/api", to: "/a/.." } } }), [`${R}.rewrite.replacePrefix.to: dot-segments are not allowed, in "/a/.."`]],
    ["a rewrite of two kinds", withRoute({ match: { path: "/api/x" }, rewrite: { stripPrefix: "/api", path: "/x" } }), [`${R}.rewrite.path: cannot be set beside stripPrefix: a rewrite is one of stripPrefix, replacePrefix or path`]],
    ["a rewrite's Host of no known kind", withRoute({ match: { path: "/api/x" }, rewrite: { host: "upstream" } }), [`${R}.rewrite.host: must be "backend" or "client"`]],
    ["an empty method list", withRoute({ match: { path: "/x", methods: [] } }), [`${R}.match.methods: must name at least one method`]],
    ["methods that are neither * nor a list", withRoute({ match: { path: "/x", methods: "GET" } }), [`${R}.match.methods: must be "*" or a list of methods`]],
    ["a header condition on a name with a space", withRoute({ match: { path: "/x", headers: { "x y": "1" } } }), [`${R}.match.headers.x y: must be a valid header name`]],
    ["a header condition on a name ending in a space", withRoute({ match: { path: "/x", headers: { "x-a ": "1" } } }), [`${R}.match.headers.x-a : must be a valid header name`]],
    ["a header condition on a name starting with a space", withRoute({ match: { path: "/x", headers: { " x-a": "1" } } }), [`${R}.match.headers. x-a: must be a valid header name`]],
    ["a header condition that is neither a value nor true", withRoute({ match: { path: "/x", headers: { "x-a": false } } }), [`${R}.match.headers.x-a: must be an exact value (a string) or true (present)`]],
    ["a sticky header that is not a header name", withRoute({ rollout: { percent: 1, key: { header: "bad h" } } }), [`${R}.rollout.key.header: must be a valid header name`]],
    ["a sticky cookie that is not a cookie name", withRoute({ rollout: { percent: 1, key: { cookie: "a b" } } }), [`${R}.rollout.key.cookie: must be a valid cookie name`]],
    ["a sticky cookie name with a trailing ;", withRoute({ rollout: { percent: 1, key: { cookie: "sid;" } } }), [`${R}.rollout.key.cookie: must be a valid cookie name`]],
    ["a sticky query parameter with no name", withRoute({ rollout: { percent: 1, key: { query: "" } } }), [`${R}.rollout.key.query: must name a query parameter`]],
    ["a sticky key of no known kind", withRoute({ rollout: { percent: 1, key: "cookie" } }), [`${R}.rollout.key: must be "ip", "random", { header: name }, { cookie: name } or { query: name }`]],
    ["an ignore path that is not a JSON path", shadowed({ compare: { ignore: ["items"] } }), [`${R}.shadow.compare.ignore[0]: must be a JSON path such as "$.items[*].price", got "items"`]],
    ["an ignore path over 500 characters", shadowed({ compare: { ignore: [`$.${"a".repeat(499)}`] } }), [`${R}.shadow.compare.ignore[0]: Too big: expected string to have <=500 characters`]],
    ["a compared header in capitals", shadowed({ compare: { headers: ["Content-Type"] } }), [`${R}.shadow.compare.headers[0]: must be a lower-case header name`]],
    ["a compared header with a space after it", shadowed({ compare: { headers: ["etag "] } }), [`${R}.shadow.compare.headers[0]: must be a lower-case header name`]],
    ["a compared header with a space before it", shadowed({ compare: { headers: [" etag"] } }), [`${R}.shadow.compare.headers[0]: must be a lower-case header name`]],
    ["an array rule with an empty key", shadowed({ compare: { arrays: [{ path: "$.a", key: "" }] } }), [`${R}.shadow.compare.arrays[0].key: Too small: expected string to have >=1 characters`]],
    ["an array rule with unordered: false", shadowed({ compare: { arrays: [{ path: "$.a", unordered: false }] } }), [`${R}.shadow.compare.arrays[0].unordered: Invalid input: expected true`]],
    ["an array rule whose ordered is not a boolean", shadowed({ compare: { arrays: [{ path: "$.a", key: "id", ordered: "yes" }] } }), [`${R}.shadow.compare.arrays[0].ordered: must be true or false, got string`]],
    ["a match with two unknown fields", withRoute({ match: { path: "/x", verbs: ["GET"], host: "a" } }), [`${R}.match: unknown field(s) "verbs", "host"`]],
    ["an array rule with a field of its own", shadowed({ compare: { arrays: [{ path: "$.a", key: "id", id: "x" }] } }), [`${R}.shadow.compare.arrays[0]: unknown field(s) "id"`]],
    ["an array rule that is not an object", shadowed({ compare: { arrays: ["$.a"] } }), [`${R}.shadow.compare.arrays[0]: must be { path, key } or { path, unordered: true }`]],
    ["an array rule on a bad path", shadowed({ compare: { arrays: [{ path: "a", unordered: true }] } }), [`${R}.shadow.compare.arrays[0].path: must be a JSON path such as "$.items[*].price", got "a"`]],
    ["an empty key name", shadowed({ compare: { keyNames: [""] } }), [`${R}.shadow.compare.keyNames[0]: Too small: expected string to have >=1 characters`]],
    ["an unknown sampling", shadowed({ sampling: "often" }), [`${R}.shadow.sampling: Invalid option: expected one of "sticky"|"random"`]],
    ["a redacted field that is not a JSON path", shadowed({ redact: { bodyFields: ["password"] } }), [`${R}.shadow.redact.bodyFields[0]: must be a JSON path such as "$.items[*].price", got "password"`]],
    ["a shadowed write without shadowWrites", shadowed({ methods: ["GET", "post"] }), [`${R}.shadow.methods[1]: POST is a write: set shadowWrites: true (for a service with a dry-run mode) to shadow it`]],
    ["a guard with no threshold", withRoute({ guard: { minSamples: 5 } }), [`${R}.guard: names no threshold: set maxErrorRate, maxP99Ratio or maxDivergenceRate`]],
    ["an unknown onTrip", withRoute({ guard: { maxErrorRate: 0.1, onTrip: "halt" } }), [`${R}.guard.onTrip: Invalid option: expected one of "zero"|"previous_step"`]],
    ["promotion steps that repeat", withRoute({ promote: { steps: [5, 5, 100] } }), [`${R}.promote.steps: steps must rise and end at 100`]],
    ["promotion steps that stop short of 100", withRoute({ promote: { steps: [5, 50] } }), [`${R}.promote.steps: steps must rise and end at 100`]],
    ["an idempotency header in capitals", withRoute({ fallback: { idempotencyKeyHeader: "Idempotency-Key" } }), [`${R}.fallback.idempotencyKeyHeader: must be a lower-case header name`]],
    ["a route id ending in a character ids may not hold", withRoute({ id: "ab!" }), ["routes[0] (id \"ab!\").id: must be 1-80 lower-case letters, digits, '.', '-' or '_'"]],
    ["a route id that is a number", withRoute({ id: 5 }), ["routes[0].id: must be a string, got number"]],
    ["a request timeout shorter than the head timeout", { backends, server: { requestTimeoutMs: 10_000 } }, ["server.headersTimeoutMs: headersTimeoutMs must not exceed requestTimeoutMs (a whole request includes its head)"]],
    ["a trusted proxy that is a host name", { backends, server: { trustedProxies: ["lb.internal"] } }, ['server.trustedProxies[0]: must be an IP address or a CIDR block such as "10.0.0.0/8" or "fd00::/8", got "lb.internal"']],
    ["a trusted IPv4 block of 33 bits", { backends, server: { trustedProxies: ["10.0.0.0/8", "10.0.0.0/33"] } }, ['server.trustedProxies[1]: the prefix length of "10.0.0.0/33" must be 0-32']],
    ["a trusted IPv6 block with no length", { backends, server: { trustedProxies: ["fd00::/"] } }, ['server.trustedProxies[0]: the prefix length of "fd00::/" must be 0-128']],
    ["a sticky cookie name with a ;", { backends, stickyCookie: "a;b" }, ["stickyCookie: must be 1-64 letters, digits, '_' or '-'"]],
    ["a sticky cookie name of 65 characters", { backends, stickyCookie: "a".repeat(65) }, ["stickyCookie: must be 1-64 letters, digits, '_' or '-'"]],
    ["a sticky cookie name with a space before it", { backends, stickyCookie: " sid" }, ["stickyCookie: must be 1-64 letters, digits, '_' or '-'"]],
    ["a forced-routing secret of 15 characters", { backends, forceRouting: { secret: "x".repeat(15) } }, ["forceRouting.secret: must be at least 16 characters"]],
    ["a provider that is not one", { backends, openFeature: { provider: {} } }, ["openFeature.provider: must be an OpenFeature server Provider (an object with resolveStringEvaluation)"]],
    ["a provider that is null", { backends, openFeature: { provider: null } }, ["openFeature.provider: must be an OpenFeature server Provider (an object with resolveStringEvaluation)"]],
    ["a provider whose resolveStringEvaluation is not a function", { backends, openFeature: { provider: { resolveStringEvaluation: true } } }, ["openFeature.provider: must be an OpenFeature server Provider (an object with resolveStringEvaluation)"]],
    ["a guard interval under 100 ms", { backends, guards: { intervalMs: 99 } }, ["guards.intervalMs: Too small: expected number to be >=100"]],
    [
      "a guard window longer than the evidence kept",
      { ...withRoute({ guard: { windowMs: 120_000, maxErrorRate: 0.1 } }), fleet: { evidenceRetentionMs: 60_000 } },
      [`${R}.guard.windowMs: 120000 is longer than the evidence kept (fleet.evidenceRetentionMs 60000)`],
    ],
    [
      "a promotion interval longer than the evidence kept",
      withRoute({ promote: { steps: [5, 100], intervalMs: 7_200_000 } }),
      [`${R}.promote.intervalMs: 7200000 is longer than the evidence kept (fleet.evidenceRetentionMs 3600000)`],
    ],
    ["an evidence bucket over a minute", { backends, fleet: { evidenceBucketMs: 60_001 } }, ["fleet.evidenceBucketMs: Too big: expected number to be <=60000"]],
    ["a fleet key that does not exist", { backends, fleet: { heartbeat: 1 } }, ['fleet: unknown field(s) "heartbeat"']],
    ["a served-by header in capitals", { backends, servedByHeader: "X-Served" }, ["servedByHeader: must be a lower-case header name"]],
    ["a served-by header with a character headers may not hold", { backends, servedByHeader: "x-a!" }, ["servedByHeader: must be a lower-case header name"]],
    ["a provider that is a function", { backends, openFeature: { provider: Object.assign(() => undefined, { resolveStringEvaluation: () => undefined }) } }, ["openFeature.provider: must be an OpenFeature server Provider (an object with resolveStringEvaluation)"]],
    ["a served-by header that is true", { backends, servedByHeader: true }, ["servedByHeader: must be a lower-case header name, or false for none"]],
    [
      "h2c beside TLS",
      { backends, server: { tls: { cert: "c.pem", key: "k.pem" }, http2: { h2c: true } } },
      ["server.http2.h2c: h2c is HTTP/2 without TLS, for a plain listener: with server.tls set, HTTP/2 is offered by ALPN (http2.enabled)"],
    ],
    [
      "the PROXY protocol with no trusted proxy to read it from",
      { backends, server: { proxyProtocol: true } },
      ["server.proxyProtocol: a PROXY protocol header is read only from server.trustedProxies, which is empty: name the balancers that send it"],
    ],
    [
      "a retirement quiet period longer than the map keeps",
      { backends, map: { retentionMs: 3_600_000, retireQuietPeriodMs: 3_600_001 } },
      ["map.retireQuietPeriodMs: 3600001 is longer than the map keeps (map.retentionMs 3600000)"],
    ],
  ])("%s", (_name, raw, issues) => {
    expect(issuesOf(raw)).toEqual(issues);
  });

  it("TLS by default offers only forward-secret AEAD suites (TLS 1.2's; 1.3's are OpenSSL's own), from TLS 1.2 up", () => {
    const tls = validateConfig({ backends, server: { tls: { cert: "c.pem", key: "k.pem" } } }, "t").server.tls;
    expect(tls?.minVersion).toBe("TLSv1.2");
    expect(tls?.ciphers.split(":")).toEqual([
      "ECDHE-ECDSA-AES128-GCM-SHA256",
      "ECDHE-RSA-AES128-GCM-SHA256",
      "ECDHE-ECDSA-AES256-GCM-SHA384",
      "ECDHE-RSA-AES256-GCM-SHA384",
      "ECDHE-ECDSA-CHACHA20-POLY1305",
      "ECDHE-RSA-CHACHA20-POLY1305",
    ]);
  });

  it("admin hosts: names and addresses with an optional port, nothing else", () => {
    const hosts = ["proxy-1.internal", "proxy:8080", "10.0.0.5", "[::1]", "[::1]:9090", "a b", "proxy:", "[::1]x", "x]:80", "[::1]:80 x", "host:123456", "proxy:80 x", " proxy", "x[::1]"];
    expect(issuesOf({ backends, admin: { allowedHosts: hosts } })).toEqual(
      [5, 6, 7, 8, 9, 10, 11, 12, 13].map((i) => `admin.allowedHosts[${i}]: must be a host name or address, optionally with :port`),
    );
  });

  it("a wrong type is named in the author's words", () => {
    expect(issuesOf({ backends: { legacy: { url: "http://x", connectTimeoutMs: null, maxSockets: "5", circuitBreaker: [] } }, routes: "x" })).toEqual([
      "backends.legacy.connectTimeoutMs: must be a number, got null",
      "backends.legacy.maxSockets: must be a number, got string",
      "backends.legacy.circuitBreaker: must be an object, got an array",
      "routes: must be an array, got string",
    ]);
    expect(issuesOf({ backends: [] })).toEqual(["backends: must be an object, got an array"]);
    expect(issuesOf({ backends: { legacy: { url: "http://x" } }, shadowing: { maxInFlight: true } })).toEqual(["shadowing.maxInFlight: must be a number, got boolean"]);
    expect(issuesOf({ backends, routes: [route({ match: { path: "/x", methods: [null] } })] })).toEqual([`${R}.match.methods[0]: must be a string, got null`]);
    expect(issuesOf({ backends, routes: [route({ target: undefined })] })).toEqual([`${R}.target: is required`]);
    expect(issuesOf(null)).toEqual(["(root): must be an object, got null"]);
  });

  it("accepts what each rule allows", () => {
    const config = validateConfig(
      {
        backends,
        routes: [
          route({ id: "star", match: { path: "/s", methods: "*" }, shadow: { percent: 1, compare: { headers: ["etag", "x-version-2"] } } }),
          route({ id: "a", match: { path: "/a", methods: ["get"], headers: { "X-Tenant": "t1", "x-beta": true } }, rollout: { percent: 5, key: { header: "X-User" } } }),
          route({ id: "b", match: { path: "/b" }, rollout: { percent: 5, key: { cookie: "sid" } }, shadow: { percent: 1, sampling: "random", methods: ["POST"], shadowWrites: true } }),
          route({ id: "c", match: { path: "/c" }, rollout: { percent: 5, key: { query: "u" } }, shadow: { percent: 1, compare: { arrays: [{ path: "$.a", key: "id", ordered: true }, { path: "$.b", unordered: true }] } } }),
          route({ id: "d", match: { path: "/d" }, rollout: { percent: 5, key: "ip" }, guard: { maxP99Ratio: 2, onTrip: "previous_step" } }),
          route({ id: "e", match: { path: "/e" }, rollout: { percent: 5, key: "random" }, fallback: { idempotencyKeyHeader: "idempotency-key" } }),
        ],
        server: { requestTimeoutMs: 30_000 },
        stickyCookie: "a".repeat(64),
        forceRouting: { secret: "x".repeat(16) },
        openFeature: { provider: { resolveStringEvaluation: () => undefined } },
        servedByHeader: false,
      },
      "t",
    );
    expect(config.routes[0]?.match.methods).toBe("*");
    // Each cross-field rule's other side is accepted: h2c on a plain listener, the PROXY protocol from a
    // named balancer, a quiet period as long as the map keeps.
    expect(validateConfig({ backends, server: { http2: { h2c: true } } }, "t").server.http2.h2c).toBe(true);
    expect(validateConfig({ backends, server: { proxyProtocol: true, trustedProxies: ["10.0.0.0/8"] } }, "t").server.proxyProtocol).toBe(true);
    expect(validateConfig({ backends, map: { retentionMs: 3_600_000, retireQuietPeriodMs: 3_600_000 } }, "t").map.retireQuietPeriodMs).toBe(3_600_000);
    expect(config.routes[0]?.shadow?.compare.headers).toEqual(["etag", "x-version-2"]);
    config.routes.shift();
    expect(validateConfig({ backends, servedByHeader: "x-backend" }, "t").servedByHeader).toBe("x-backend");
    expect(config.routes.map((r) => r.rollout.key)).toEqual([{ header: "x-user" }, { cookie: "sid" }, { query: "u" }, "ip", "random"]);
    expect(config.routes[0]?.match.methods).toEqual(["GET"]);
    expect(config.routes[1]?.shadow?.sampling).toBe("random");
    expect(config.routes[3]?.guard?.onTrip).toBe("previous_step");
    expect(config.servedByHeader).toBe(false);
  });

  it("fills in the defaults a route's sections leave out", () => {
    const config = validateConfig(withRoute({ shadow: { percent: 1 }, guard: { maxErrorRate: 0.1 } }), "t");
    const r = config.routes[0];
    expect(r?.rollout.key).toEqual({ header: "x-user-id" });
    expect(r?.shadow?.sampling).toBe("sticky");
    expect(r?.shadow?.methods).toEqual(["GET", "HEAD", "OPTIONS"]);
    expect(r?.shadow?.compare).toEqual({ headers: ["content-type"], ignore: [], arrays: [], keyNames: ["id"], numericTolerance: 0, timestampToleranceMs: 0 });
    expect(r?.shadow?.redact).toEqual({ bodyFields: [] });
    expect(r?.guard?.onTrip).toBe("zero");
    expect(config.stickyCookie).toBe("strangler_id");
    expect(config.guards).toEqual({ intervalMs: 10_000 });
    expect(config.fleet).toEqual({ heartbeatMs: 5_000, evidenceFlushMs: 1_000, foldMs: 2_000, evidenceBucketMs: 5_000, evidenceRetentionMs: 3_600_000, reconcileMs: 5_000 });
    expect(validateConfig({ backends, routes: [route({ promote: {} })] }, "t").routes[0]?.promote?.steps).toEqual([1, 5, 25, 50, 100]);
  });
});
