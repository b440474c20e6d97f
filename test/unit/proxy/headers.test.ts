import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientResponseHead, clientResponseHeaders, headersForBackend, upstreamHeadersFor, upstreamRequestHeaders } from "../../../src/proxy/headers.ts";
import { RawHead } from "../../../src/proxy/raw-head.ts";

const info = { forwardedFor: "10.0.0.9", proto: "http" as const, host: "shop.example", requestId: "rid-1", upstreamHost: "catalog:8080" };

/** A flat header list as an object: a name's values in order, an array when it is repeated. */
function fields(flat: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] as string;
    const value = flat[i + 1] as string;
    const existing = out[name];
    out[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return out;
}

describe("headers on the way up", () => {
  it("drops every hop-by-hop header, the ones Connection names, the proxy's own and the force headers", () => {
    const out = fields(upstreamRequestHeaders(
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
        "x-strangler-attempt": "2",
        host: "shop.example",
        "x-request-id": "client-chosen",
        accept: "application/json",
        cookie: ["a=1", "b=2"] as unknown as string,
      },
      info,
    ));
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
    const out = fields(upstreamRequestHeaders({ connection: "close", close: "x", "x-kept": "1" }, info));
    expect(out["x-kept"]).toBe("1");
    expect(out).not.toHaveProperty("close");
  });

  it("never passes on a client's X-Forwarded-Host when the client sent no Host", () => {
    expect(fields(upstreamRequestHeaders({ "x-forwarded-host": "evil.example" }, { ...info, host: undefined }))).not.toHaveProperty("x-forwarded-host");
  });

  it("copies no field whose value is undefined, either way", () => {
    expect(upstreamRequestHeaders({ "x-a": undefined, "x-b": "1" }, info)).not.toContain("x-a");
    expect(Object.keys(clientResponseHeaders({ "x-a": undefined, "x-b": "1" }, "rid", undefined))).toEqual(["x-b", "x-request-id"]);
  });

  it("sends the resolved chain as X-Forwarded-For, never the one the client wrote", () => {
    expect(fields(upstreamRequestHeaders({ "x-forwarded-for": "1.1.1.1" }, info))["x-forwarded-for"]).toBe("10.0.0.9");
    expect(fields(upstreamRequestHeaders({ "x-forwarded-for": "1.1.1.1" }, { ...info, forwardedFor: "1.1.1.1, 10.0.0.9" }))["x-forwarded-for"]).toBe("1.1.1.1, 10.0.0.9");
  });

  it("never sends HTTP/2's pseudo-headers up", () => {
    const out = fields(upstreamRequestHeaders({ ":method": "GET", ":path": "/x", ":authority": "shop.example", ":scheme": "https", accept: "*/*" }, info));
    expect(Object.keys(out).filter((name) => name.startsWith(":"))).toEqual([]);
    expect(out.accept).toBe("*/*");
  });

  it("sets X-Forwarded-Host only when the client sent a Host, and X-Forwarded-Proto as told", () => {
    const out = fields(upstreamRequestHeaders({}, { ...info, host: undefined, proto: "https" }));
    expect(out).not.toHaveProperty("x-forwarded-host");
    expect(out["x-forwarded-proto"]).toBe("https");
  });

  it("is a flat name/value list in the order undici writes it: the client's fields, then the proxy's, a repeated one a line each", () => {
    expect(upstreamRequestHeaders({ accept: "*/*", cookie: ["a=1", "b=2"] as unknown as string }, info)).toEqual([
      "accept", "*/*", "cookie", "a=1", "cookie", "b=2",
      "host", "catalog:8080", "x-forwarded-for", "10.0.0.9", "x-forwarded-proto", "http", "x-forwarded-host", "shop.example", "x-request-id", "rid-1",
    ]);
  });

  it("upstreamHeadersFor copies the list for another backend with its Host, and leaves the original as it was", () => {
    const list = upstreamRequestHeaders({ accept: "*/*", "x-host": "not this one" }, info);
    const copy = upstreamHeadersFor(list, "orders:9090");
    expect(fields(copy)).toEqual({ ...fields(list), host: "orders:9090" });
    expect(copy.indexOf("orders:9090")).toBe(list.indexOf("catalog:8080"));
    expect(fields(list).host).toBe("catalog:8080");
    copy.push("x-strangler-shadow", "1");
    expect(list).not.toContain("x-strangler-shadow");
    // A list with no Host (not one upstreamRequestHeaders makes) gets one.
    expect(upstreamHeadersFor(["accept", "*/*"], "h:1")).toEqual(["accept", "*/*", "host", "h:1"]);
  });

  it("headersForBackend reads the client's address, scheme and Host from the request", () => {
    const req = { headers: { host: "shop.example", accept: "*/*" }, socket: { remoteAddress: "10.1.1.1", encrypted: true } } as unknown as IncomingMessage;
    expect(fields(headersForBackend(req, "rid-2", "legacy:80"))).toEqual({
      accept: "*/*",
      host: "legacy:80",
      "x-forwarded-for": "10.1.1.1",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "shop.example",
      "x-request-id": "rid-2",
    });
    const plain = { headers: {}, socket: { remoteAddress: "10.1.1.2" } } as unknown as IncomingMessage;
    expect(fields(headersForBackend(plain, "r", "x"))["x-forwarded-proto"]).toBe("http");
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

/** A head as undici hands it over: names and values as Buffers, in order. */
const raw = (...pairs: [string, string][]) => pairs.flatMap(([name, value]) => [Buffer.from(name, "latin1"), Buffer.from(value, "latin1")]);

describe("the client's head from the backend's raw head", () => {
  it("drops hop-by-hop and Connection-named headers in any case, keeps repeated names apart, adds the proxy's own", () => {
    const head = clientResponseHead(
      raw(["Connection", "X-Internal, keep-alive"], ["X-Internal", "1"], ["Keep-Alive", "timeout=4"], ["Transfer-Encoding", "chunked"], ["Content-Type", "application/json"], ["Set-Cookie", "a=1"], ["set-cookie", "b=2"]),
      "rid-3",
      ["x-served-by", "catalog"],
      "strangler_id=abc; Path=/",
    );
    expect(head.headers).toEqual(["content-type", "application/json", "set-cookie", "a=1", "set-cookie", "b=2", "x-request-id", "rid-3", "x-served-by", "catalog", "set-cookie", "strangler_id=abc; Path=/"]);
  });

  it("replaces the backend's own request id and served-by header, whatever their case, and reads Content-Length", () => {
    const head = clientResponseHead(raw(["X-Request-Id", "theirs"], ["X-Served-By", "spoofed"], ["Content-Length", "3"]), "ours", ["X-Served-By", "legacy"], undefined);
    expect(head.headers).toEqual(["content-length", "3", "x-request-id", "ours", "X-Served-By", "legacy"]);
    expect(head.contentLength).toBe("3");
    expect(clientResponseHead(raw(["x-a", "1"]), "r", undefined, undefined)).toEqual({ headers: ["x-a", "1", "x-request-id", "r"], contentLength: undefined });
  });

  it("drops every hop-by-hop field of the answer, whatever its case, and keeps fields of the same lengths", () => {
    const hop = ["Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade"];
    // A kept field of each hop-by-hop name's length: the length table only spares the set lookup.
    const sameLength = ["x-custom-1", "x-name-thing-here-", "x-name-thing-here-a", "x-name-thing-her", "x", "x-trail", "x-name-thing-here", "x-upgra"].map((n) => n.padEnd(2, "y"));
    const head = clientResponseHead(raw(...hop.map((n): [string, string] => [n, "v"]), ...sameLength.map((n): [string, string] => [n, "k"]), ["Date", "d"]), "r", undefined, undefined);
    expect(head.headers).toEqual([...sameLength.flatMap((n) => [n, "k"]), "date", "d", "x-request-id", "r"]);
  });

  it("keeps a value's bytes as they came (latin1 both ways)", () => {
    const head = clientResponseHead([Buffer.from("x-name"), Buffer.from([0x63, 0x61, 0x66, 0xe9])], "r", undefined, undefined);
    expect(Buffer.from(head.headers[1] as string, "latin1")).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  });

  it("a raw head as an object is the one undici would parse: lower-case names, a repeated name's values in order", () => {
    expect(new RawHead(raw(["Content-Type", "text/plain"], ["Set-Cookie", "a=1"], ["set-cookie", "b=2"], ["set-cookie", "c=3"])).toRecord()).toEqual({ "content-type": "text/plain", "set-cookie": ["a=1", "b=2", "c=3"] });
  });

  it("gives, when asked, every field's lower-cased name and value in order (hop-by-hop and the backend's id included) from the same pass", () => {
    const head = raw(["Connection", "keep-alive"], ["Content-Type", "application/json"], ["X-Request-Id", "theirs"], ["Set-Cookie", "a=1"], ["set-cookie", "b=2"]);
    const names: string[] = [];
    const values: string[] = [];
    const client = clientResponseHead(head, "ours", undefined, undefined, names, values);
    expect(names).toEqual(["connection", "content-type", "x-request-id", "set-cookie", "set-cookie"]);
    expect(values).toEqual(["keep-alive", "application/json", "theirs", "a=1", "b=2"]);
    expect(new RawHead(head, names).toRecord()).toEqual({ connection: "keep-alive", "content-type": "application/json", "x-request-id": "theirs", "set-cookie": ["a=1", "b=2"] });
    expect(client.headers).toEqual(["content-type", "application/json", "set-cookie", "a=1", "set-cookie", "b=2", "x-request-id", "ours"]);
  });

  describe("RawHead", () => {
    const head = raw(["Content-Type", "application/json"], ["X-Custom-Thing", "one"], ["Set-Cookie", "a=1"], ["set-cookie", "b=2"], ["Content-Length", "12"]);

    it("reads a field by its lower-case name, whatever case it came in, and undefined when absent", () => {
      const h = new RawHead(head);
      expect(h.get("content-type")).toBe("application/json");
      expect(h.get("x-custom-thing")).toBe("one"); // not a common name: made the ordinary way
      expect(h.get("content-length")).toBe("12");
      expect(h.get("content-encoding")).toBeUndefined();
      expect(h.get("Content-Type")).toBeUndefined();
    });

    it("reads a field reusing the caller's previous string when the bytes spell it, and reads it afresh when not", () => {
      const h = new RawHead(head);
      const previous = ["application", "json"].join("/"); // made here, so that identity is what is checked
      expect(h.getReusing("content-type", previous)).toBe(previous);
      expect(h.getReusing("content-type", "application/xml")).toBe("application/json");
      expect(h.getReusing("content-type", undefined)).toBe("application/json");
      expect(h.getReusing("content-encoding", "gzip")).toBeUndefined();
      expect(h.getReusing("set-cookie", "a=1")).toBe("a=1, b=2");
    });

    it("joins a repeated field's values in order, as a parsed header compared as text would be", () => {
      expect(new RawHead(head).get("set-cookie")).toBe("a=1, b=2");
    });

    it("reads through the names and values a caller already made, and gives the object undici would", () => {
      const names: string[] = [];
      const values: string[] = [];
      clientResponseHead(head, "r", undefined, undefined, names, values);
      const h = new RawHead(head, names, values);
      expect(h.get("set-cookie")).toBe("a=1, b=2");
      expect(h.toRecord()).toEqual(new RawHead(head).toRecord());
      expect(h.toRecord()).toEqual({ "content-type": "application/json", "x-custom-thing": "one", "set-cookie": ["a=1", "b=2"], "content-length": "12" });
    });

    it("compares a field with another head's in place, whichever of them has its strings made", () => {
      const other = raw(["content-type", "application/json"], ["X-Custom-Thing", "two"], ["set-cookie", "a=1"], ["Set-Cookie", "b=2"], ["content-length", "13"], ["Content-Encoding", "gzip"]);
      const made = (r: Buffer[]) => {
        const names: string[] = [];
        const values: string[] = [];
        clientResponseHead(r, "r", undefined, undefined, names, values);
        return new RawHead(r, names, values);
      };
      const forms = [(r: Buffer[]) => new RawHead(r), made];
      for (const left of forms) {
        for (const right of forms) {
          const a = left(head);
          const b = right(other);
          expect(a.sameAs(b, "content-type")).toBe(true); // the same value, names in another case
          expect(a.sameAs(b, "x-custom-thing")).toBe(false); // "one" against "two": same length, other bytes
          expect(a.sameAs(b, "content-length")).toBe(false); // "12" against "13"
          expect(a.sameAs(b, "set-cookie")).toBe(true); // repeated in both, the same values in order
          expect(a.sameAs(b, "content-encoding")).toBe(false); // absent against present
          expect(b.sameAs(a, "content-encoding")).toBe(false);
          expect(a.sameAs(b, "etag")).toBe(true); // absent from both
        }
      }
      expect(new RawHead(raw(["ETag", "x"])).sameAs(new RawHead(raw(["etag", "xy"])), "etag")).toBe(false);
      const long = "v".repeat(100);
      expect(new RawHead(raw(["ETag", long])).sameAs(new RawHead(raw(["etag", long])), "etag")).toBe(true);
      expect(new RawHead(raw(["ETag", long])).sameAs(new RawHead(raw(["etag", `${long.slice(1)}w`])), "etag")).toBe(false);
    });

    it("reads Content-Length as a number from its bytes, and 0 when it is absent, repeated or not a plain number", () => {
      expect(new RawHead(head).contentLength()).toBe(12);
      expect(new RawHead(raw(["CONTENT-LENGTH", "1048576"])).contentLength()).toBe(1048576);
      expect(new RawHead(raw(["content-type", "a"])).contentLength()).toBe(0);
      expect(new RawHead(raw(["content-length", "5"], ["content-length", "5"])).contentLength()).toBe(0);
      expect(new RawHead(raw(["content-length", "5x"])).contentLength()).toBe(0);
      expect(new RawHead(raw(["content-length", "-5"])).contentLength()).toBe(0);
    });

    it("keeps a value's bytes as they came (latin1)", () => {
      const h = new RawHead([Buffer.from("X-Name"), Buffer.from([0x63, 0x61, 0x66, 0xe9])]);
      expect(Buffer.from(h.get("x-name") as string, "latin1")).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    });
  });
});
