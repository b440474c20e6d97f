import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientResponseHeaders, headersForBackend, upstreamRequestHeaders } from "../../../src/proxy/headers.ts";

const info = { forwardedFor: "10.0.0.9", proto: "http" as const, host: "shop.example", requestId: "rid-1", upstreamHost: "catalog:8080" };

describe("headers on the way up", () => {
  it("drops every hop-by-hop header, the ones Connection names, the proxy's own and the force headers", () => {
    const out = upstreamRequestHeaders(
      {
        connection: "keep-alive, X-Trace-Hop, close",
        "keep-alive": "timeout=5",
        "proxy-authorization": "Basic c2VjcmV0",
        "proxy-authenticate": "Basic",
        "proxy-connection": "keep-alive",
        te: "trailers",
        trailer: "x-sum",
        "transfer-encoding": "chunked",
        upgrade: "h2c",
        "x-trace-hop": "1",
        expect: "100-continue",
        "x-strangler-force": "target",
        "x-strangler-force-secret": "s3cret-s3cret-s3cret",
        host: "shop.example",
        "x-request-id": "client-chosen",
        accept: "application/json",
        cookie: ["a=1", "b=2"] as unknown as string,
      },
      info,
    );
    expect(out).toEqual({
      accept: "application/json",
      cookie: ["a=1", "b=2"],
      host: "catalog:8080",
      "x-forwarded-for": "10.0.0.9",
      "x-forwarded-proto": "http",
      "x-forwarded-host": "shop.example",
      "x-request-id": "rid-1",
    });
  });

  it("Connection: close closes the connection and strips a field named close (RFC 9110 §7.6.1), nothing else", () => {
    const out = upstreamRequestHeaders({ connection: "close", close: "x", "x-kept": "1" }, info);
    expect(out["x-kept"]).toBe("1");
    expect(out).not.toHaveProperty("close");
  });

  it("never passes on a client's X-Forwarded-Host when the client sent no Host", () => {
    expect(upstreamRequestHeaders({ "x-forwarded-host": "evil.example" }, { ...info, host: undefined })).not.toHaveProperty("x-forwarded-host");
  });

  it("copies no field whose value is undefined, either way", () => {
    expect(Object.keys(upstreamRequestHeaders({ "x-a": undefined, "x-b": "1" }, info))).not.toContain("x-a");
    expect(Object.keys(clientResponseHeaders({ "x-a": undefined, "x-b": "1" }, "rid", undefined))).toEqual(["x-b", "x-request-id"]);
  });

  it("sends the resolved chain as X-Forwarded-For, never the one the client wrote", () => {
    expect(upstreamRequestHeaders({ "x-forwarded-for": "1.1.1.1" }, info)["x-forwarded-for"]).toBe("10.0.0.9");
    expect(upstreamRequestHeaders({ "x-forwarded-for": "1.1.1.1" }, { ...info, forwardedFor: "1.1.1.1, 10.0.0.9" })["x-forwarded-for"]).toBe("1.1.1.1, 10.0.0.9");
  });

  it("never sends HTTP/2's pseudo-headers up", () => {
    const out = upstreamRequestHeaders({ ":method": "GET", ":path": "/x", ":authority": "shop.example", ":scheme": "https", accept: "*/*" }, info);
    expect(Object.keys(out).filter((name) => name.startsWith(":"))).toEqual([]);
    expect(out.accept).toBe("*/*");
  });

  it("sets X-Forwarded-Host only when the client sent a Host, and X-Forwarded-Proto as told", () => {
    const out = upstreamRequestHeaders({}, { ...info, host: undefined, proto: "https" });
    expect(out).not.toHaveProperty("x-forwarded-host");
    expect(out["x-forwarded-proto"]).toBe("https");
  });

  it("headersForBackend reads the client's address, scheme and Host from the request", () => {
    const req = { headers: { host: "shop.example", accept: "*/*" }, socket: { remoteAddress: "10.1.1.1", encrypted: true } } as unknown as IncomingMessage;
    expect(headersForBackend(req, "rid-2", "legacy:80")).toEqual({
      accept: "*/*",
      host: "legacy:80",
      "x-forwarded-for": "10.1.1.1",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "shop.example",
      "x-request-id": "rid-2",
    });
    const plain = { headers: {}, socket: { remoteAddress: "10.1.1.2" } } as unknown as IncomingMessage;
    expect(headersForBackend(plain, "r", "x")["x-forwarded-proto"]).toBe("http");
  });
});

describe("headers on the way down", () => {
  it("drops hop-by-hop and Connection-named headers, adds the request id, x-served-by and the sticky cookie", () => {
    const out = clientResponseHeaders(
      { connection: "x-internal", "x-internal": "1", "keep-alive": "timeout=4", "transfer-encoding": "chunked", "content-type": "application/json", "set-cookie": ["a=1"], gone: undefined },
      "rid-3",
      ["x-served-by", "catalog"],
      "strangler_id=abc; Path=/",
    );
    expect(out).toEqual({ "content-type": "application/json", "set-cookie": ["a=1", "strangler_id=abc; Path=/"], "x-request-id": "rid-3", "x-served-by": "catalog" });
  });

  it("adds a sticky cookie beside a single Set-Cookie string, and none when there is none to add", () => {
    expect(clientResponseHeaders({ "set-cookie": "a=1" as unknown as string[] }, "r", undefined, "s=2")["set-cookie"]).toEqual(["a=1", "s=2"]);
    expect(clientResponseHeaders({}, "r", undefined, "s=2")["set-cookie"]).toEqual(["s=2"]);
    const out = clientResponseHeaders({ "content-length": "3" }, "r", undefined);
    expect(out).toEqual({ "content-length": "3", "x-request-id": "r" });
  });
});
