import { describe, expect, it } from "vitest";
import { parseProxyHeader, V2_MAX } from "../../../src/edge/proxy-protocol.ts";

const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function v2(command: number, family: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x20 | command;
  head[1] = family;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([SIGNATURE, head, body]);
}

const ipv4Body = Buffer.from([203, 0, 113, 7, 10, 0, 0, 1, 0x1f, 0x90, 0x01, 0xbb]);

describe("PROXY protocol headers", () => {
  it("reads a v1 TCP4 and TCP6 line, and UNKNOWN (no address)", () => {
    expect(parseProxyHeader(Buffer.from("PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\nGET / HTTP/1.1\r\n"))).toEqual({ kind: "header", version: 1, length: 43, source: "203.0.113.7" });
    expect(parseProxyHeader(Buffer.from("PROXY TCP6 2001:db8::1 fd00::1 56324 443\r\n"))).toMatchObject({ kind: "header", source: "2001:db8::1" });
    expect(parseProxyHeader(Buffer.from("PROXY UNKNOWN\r\n"))).toEqual({ kind: "header", version: 1, length: 15, source: undefined });
  });

  it("waits for more bytes while a header is incomplete, and says absent for anything else", () => {
    expect(parseProxyHeader(Buffer.from("PRO"))).toEqual({ kind: "incomplete" });
    expect(parseProxyHeader(Buffer.from("PROXY TCP4 203.0.113.7"))).toEqual({ kind: "incomplete" });
    expect(parseProxyHeader(SIGNATURE.subarray(0, 5))).toEqual({ kind: "incomplete" });
    expect(parseProxyHeader(v2(1, 0x11, ipv4Body).subarray(0, 20))).toEqual({ kind: "incomplete" });
    expect(parseProxyHeader(Buffer.from("GET / HTTP/1.1\r\n"))).toEqual({ kind: "absent" });
    expect(parseProxyHeader(Buffer.from([0x16, 0x03, 0x01]))).toEqual({ kind: "absent" }); // a TLS ClientHello
    expect(parseProxyHeader(Buffer.from("PRI * HTTP/2.0"))).toEqual({ kind: "absent" });
  });

  it("refuses v1 lines that break the spec", () => {
    for (const line of [
      "PROXY TCP4 203.0.113.7 10.0.0.1 56324\r\n",
      "PROXY UDP4 203.0.113.7 10.0.0.1 1 2\r\n",
      "PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n",
      "PROXY TCP4 203.0.113.7 10.0.0.1 1 65536\r\n",
      "PROXY TCP4 203.0.113.7 10.0.0.1 01 2\r\n",
      `PROXY TCP4 ${"1".repeat(120)}\r\n`,
    ]) {
      expect(parseProxyHeader(Buffer.from(line)).kind, line).toBe("invalid");
    }
    expect(parseProxyHeader(Buffer.from(`PROXY ${"x".repeat(110)}`)).kind).toBe("invalid"); // no CRLF within 107 bytes
  });

  it("reads a v2 PROXY header for IPv4 and IPv6, skipping its TLVs", () => {
    const tlv = Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63]);
    const withTlv = v2(1, 0x11, Buffer.concat([ipv4Body, tlv]));
    expect(parseProxyHeader(Buffer.concat([withTlv, Buffer.from("GET /")]))).toEqual({ kind: "header", version: 2, length: 16 + 12 + 6, source: "203.0.113.7" });
    const ipv6 = Buffer.alloc(36);
    Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]).copy(ipv6, 0);
    expect(parseProxyHeader(v2(1, 0x21, ipv6))).toMatchObject({ kind: "header", source: "2001:db8::1" });
    const mapped = Buffer.alloc(36);
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 9]).copy(mapped, 0);
    expect(parseProxyHeader(v2(1, 0x21, mapped))).toMatchObject({ source: "198.51.100.9" });
  });

  it("a v2 LOCAL header (the balancer's own health check) and an AF_UNSPEC one name no client", () => {
    expect(parseProxyHeader(v2(0, 0x00, Buffer.alloc(0)))).toEqual({ kind: "header", version: 2, length: 16, source: undefined });
    expect(parseProxyHeader(v2(1, 0x00, Buffer.alloc(0)))).toMatchObject({ kind: "header", source: undefined });
  });

  it("refuses a v2 header of another version, an unknown command, short addresses, or past the size bound", () => {
    const wrongVersion = v2(1, 0x11, ipv4Body);
    wrongVersion[12] = 0x11;
    expect(parseProxyHeader(wrongVersion).kind).toBe("invalid");
    expect(parseProxyHeader(v2(2, 0x11, ipv4Body)).kind).toBe("invalid");
    expect(parseProxyHeader(v2(1, 0x11, ipv4Body.subarray(0, 8))).kind).toBe("invalid");
    expect(parseProxyHeader(v2(1, 0x21, Buffer.alloc(20))).kind).toBe("invalid");
    expect(parseProxyHeader(v2(1, 0x11, Buffer.alloc(V2_MAX))).kind).toBe("invalid");
  });
});
