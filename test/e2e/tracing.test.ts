import { propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Strangler } from "../../src/strangler.ts";
import { startFixture, type Fixture } from "../helpers/fixture-server.ts";
import { startTestProxy, writeConfig } from "../helpers/proxy.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { eventually } from "../helpers/wait.ts";
import { h2Request } from "../helpers/tls.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";

/** OpenTelemetry with a real SDK (sdk-trace-base 2.x, W3C propagation) and an in-memory exporter. */
describe("OpenTelemetry spans", () => {
  const temp = makeTempDir();
  const exporter = new InMemorySpanExporter();
  let legacy: Fixture;
  let svc: Fixture;
  let proxy: Strangler;
  const received: Array<{ backend: string; path: string; traceparent: string | undefined; shadow: boolean }> = [];

  beforeAll(async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const record = (backend: string) => (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
      received.push({ backend, path: req.url ?? "", traceparent: req.headers.traceparent as string | undefined, shadow: req.headers["x-strangler-shadow"] === "1" });
      if (backend === "svc" && req.url?.startsWith("/fails")) res.writeHead(500).end("boom");
      else res.setHeader("content-type", "application/json").end('{"ok":true}');
    };
    legacy = await startFixture(record("legacy"));
    svc = await startFixture(record("svc"));
    proxy = await startTestProxy(
      writeConfig(temp.dir, {
        backends: { legacy: { url: legacy.url }, svc: { url: svc.url } },
        routes: [
          { id: "items", match: { path: "/items/:id" }, target: "svc", rollout: { percent: 100 }, shadow: { percent: 100 } },
          { id: "fails", match: { path: "/fails" }, target: "svc", rollout: { percent: 100 }, fallback: {} },
        ],
        server: { http2: { h2c: true } },
      }),
    );
  });
  afterAll(async () => {
    await proxy?.close();
    await Promise.all([legacy?.close(), svc?.close()]);
    trace.disable();
    propagation.disable();
    temp.remove();
  });

  const spans = () => exporter.getFinishedSpans();
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

  it("a request is a server span continuing the client's trace, its upstream call a client span whose context goes upstream", async () => {
    exporter.reset();
    received.length = 0;
    await (await fetch(`${proxy.url}/items/42`, { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`, "x-user-id": "u1" } })).text();
    expect(await eventually(() => spans().some((s) => s.name.startsWith("shadow")))).toBe(true);
    const server = spans().find((s) => s.kind === SpanKind.SERVER) as ReadableSpan;
    expect(server.name).toBe("GET /items/:id");
    expect(server.spanContext().traceId).toBe(TRACE_ID);
    expect(parentOf(server)).toBe(CLIENT_SPAN);
    expect(server.attributes).toMatchObject({ "http.request.method": "GET", "url.path": "/items/42", "strangler.route": "items", "strangler.decision": "target:SPLIT", "strangler.backend": "svc", "http.response.status_code": 200 });
    const upstream = spans().find((s) => s.name === "upstream svc") as ReadableSpan;
    expect(upstream.kind).toBe(SpanKind.CLIENT);
    expect(upstream.spanContext().traceId).toBe(TRACE_ID);
    expect(parentOf(upstream)).toBe(server.spanContext().spanId);
    // The service got the proxy's span as its parent: the trace is continued, not passed through.
    const primary = received.find((r) => r.backend === "svc" && !r.shadow) as { traceparent: string };
    expect(primary.traceparent).toBe(`00-${TRACE_ID}-${upstream.spanContext().spanId}-01`);
    // The shadow call (to the monolith) is a trace of its own, linked to the request's span.
    const shadow = spans().find((s) => s.name === "shadow legacy") as ReadableSpan;
    expect(shadow.kind).toBe(SpanKind.CLIENT);
    expect(shadow.spanContext().traceId).not.toBe(TRACE_ID);
    expect(parentOf(shadow)).toBeUndefined();
    expect(shadow.links.map((l) => l.context.spanId)).toEqual([server.spanContext().spanId]);
    expect(shadow.attributes).toMatchObject({ "strangler.shadow": true, "http.response.status_code": 200 });
    const shadowed = received.find((r) => r.backend === "legacy" && r.shadow) as { traceparent: string };
    expect(shadowed.traceparent).toBe(`00-${shadow.spanContext().traceId}-${shadow.spanContext().spanId}-01`);
  });

  it("a fallback shows both attempts under the request's span: the failed one as an error, then the monolith's", async () => {
    exporter.reset();
    expect((await fetch(`${proxy.url}/fails`)).status).toBe(200);
    expect(await eventually(() => spans().some((s) => s.kind === SpanKind.SERVER))).toBe(true);
    const server = spans().find((s) => s.kind === SpanKind.SERVER) as ReadableSpan;
    expect(server.attributes).toMatchObject({ "strangler.route": "fails", "strangler.backend": "legacy", "http.response.status_code": 200 });
    expect(server.status.code).not.toBe(SpanStatusCode.ERROR);
    const attempts = spans().filter((s) => s.name.startsWith("upstream "));
    expect(attempts.map((s) => [s.name, s.attributes["http.response.status_code"], s.status.code])).toEqual([
      ["upstream svc", 500, SpanStatusCode.ERROR],
      ["upstream legacy", 200, SpanStatusCode.UNSET],
    ]);
    expect(attempts.every((s) => parentOf(s) === server.spanContext().spanId)).toBe(true);
    // No traceparent from the client: the proxy's span starts the trace.
    expect(parentOf(server)).toBeUndefined();
  });

  it("an HTTP/2 request continues the client's trace the same way, and its span says the protocol and the client", async () => {
    exporter.reset();
    received.length = 0;
    const answer = await h2Request(proxy.url, undefined, { path: "/items/7", headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`, "x-user-id": "u2" } });
    expect(answer.status).toBe(200);
    expect(await eventually(() => spans().some((s) => s.kind === SpanKind.SERVER))).toBe(true);
    const server = spans().find((s) => s.kind === SpanKind.SERVER) as ReadableSpan;
    expect(server.spanContext().traceId).toBe(TRACE_ID);
    expect(parentOf(server)).toBe(CLIENT_SPAN);
    expect(server.attributes).toMatchObject({ "network.protocol.version": "2", "url.scheme": "http", "client.address": "127.0.0.1", "url.path": "/items/7" });
    const upstream = received.find((r) => !r.shadow);
    expect(upstream?.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
  });
});

