import { Buffer } from "node:buffer";
import { isIP } from "node:net";

/** The binary signature that starts a PROXY protocol v2 header. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from("PROXY ", "latin1");
/** A v1 header is one line of at most 107 bytes, CRLF included (the spec's bound). */
const V1_MAX = 107;
/** A v2 header's fixed part; its length field then says how much follows (TLVs included). */
const V2_FIXED = 16;
/** Largest v2 header accepted: addresses and TLVs (AWS and GCP send a few hundred bytes at most). */
export const V2_MAX = V2_FIXED + 4_096;

/**
 * What the first bytes of a connection say about a PROXY protocol header:
 * - `absent`: they start no header (plain HTTP or TLS follows);
 * - `incomplete`: a header has started; wait for more bytes;
 * - `invalid`: a header that breaks the spec (the connection is closed);
 * - `header`: a whole header of `length` bytes, with the original client's address when it gives one
 *   (`LOCAL` and `UNKNOWN` headers, a balancer's own health checks, give none).
 */
export type ProxyHeader =
  | { readonly kind: "absent" }
  | { readonly kind: "incomplete" }
  | { readonly kind: "invalid"; readonly reason: string }
  | { readonly kind: "header"; readonly version: 1 | 2; readonly length: number; readonly source: string | undefined };

/** True while `bytes` are a prefix of `signature` (or start with all of it). */
function startsLike(bytes: Buffer, signature: Buffer): boolean {
  const n = Math.min(bytes.length, signature.length);
  return bytes.subarray(0, n).equals(signature.subarray(0, n));
}

/** Reads a PROXY protocol v1 or v2 header at the start of `bytes` (HAProxy's proxy-protocol.txt). */
export function parseProxyHeader(bytes: Buffer): ProxyHeader {
  if (bytes.length === 0) return { kind: "incomplete" };
  if (startsLike(bytes, V2_SIGNATURE)) return bytes.length < V2_FIXED ? { kind: "incomplete" } : parseV2(bytes);
  if (startsLike(bytes, V1_PREFIX)) return bytes.length < V1_PREFIX.length ? { kind: "incomplete" } : parseV1(bytes);
  return { kind: "absent" };
}

function parseV1(bytes: Buffer): ProxyHeader {
  const end = bytes.indexOf("\r\n", 0, "latin1");
  if (end === -1) return bytes.length >= V1_MAX ? { kind: "invalid", reason: "a PROXY v1 line longer than 107 bytes" } : { kind: "incomplete" };
  if (end + 2 > V1_MAX) return { kind: "invalid", reason: "a PROXY v1 line longer than 107 bytes" };
  const fields = bytes.subarray(0, end).toString("latin1").split(" ");
  const length = end + 2;
  if (fields[1] === "UNKNOWN") return { kind: "header", version: 1, length, source: undefined };
  if (fields.length !== 6 || (fields[1] !== "TCP4" && fields[1] !== "TCP6")) return { kind: "invalid", reason: "a PROXY v1 line that is not TCP4, TCP6 or UNKNOWN with two addresses and two ports" };
  const [, family, source, destination, sourcePort, destinationPort] = fields as [string, string, string, string, string, string];
  const want = family === "TCP4" ? 4 : 6;
  if (isIP(source) !== want || isIP(destination) !== want) return { kind: "invalid", reason: `a PROXY v1 ${family} line whose addresses are not IPv${want}` };
  if (!isPort(sourcePort) || !isPort(destinationPort)) return { kind: "invalid", reason: "a PROXY v1 line with a port that is not 0-65535" };
  return { kind: "header", version: 1, length, source };
}

function isPort(text: string): boolean {
  return /^(0|[1-9]\d{0,4})$/.test(text) && Number(text) <= 65_535;
}

function parseV2(bytes: Buffer): ProxyHeader {
  const versionAndCommand = bytes[12] as number;
  if (versionAndCommand >> 4 !== 2) return { kind: "invalid", reason: "a PROXY v2 header of another version" };
  const command = versionAndCommand & 0x0f;
  if (command > 1) return { kind: "invalid", reason: "a PROXY v2 header with an unknown command" };
  const addressLength = bytes.readUInt16BE(14);
  const length = V2_FIXED + addressLength;
  if (length > V2_MAX) return { kind: "invalid", reason: `a PROXY v2 header longer than ${V2_MAX} bytes` };
  if (bytes.length < length) return { kind: "incomplete" };
  if (command === 0) return { kind: "header", version: 2, length, source: undefined }; // LOCAL: the balancer itself
  const family = (bytes[13] as number) >> 4;
  const body = bytes.subarray(V2_FIXED, length);
  if (family === 1) {
    if (body.length < 12) return { kind: "invalid", reason: "a PROXY v2 IPv4 header too short for its addresses" };
    return { kind: "header", version: 2, length, source: `${body[0]}.${body[1]}.${body[2]}.${body[3]}` };
  }
  if (family === 2) {
    if (body.length < 36) return { kind: "invalid", reason: "a PROXY v2 IPv6 header too short for its addresses" };
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
    return { kind: "header", version: 2, length, source: compressIpv6(groups) };
  }
  // AF_UNSPEC or AF_UNIX: no client address to report.
  return { kind: "header", version: 2, length, source: undefined };
}

/** Eight hex groups in RFC 5952's short form (the longest run of two or more zero groups as `::`). */
function compressIpv6(groups: readonly string[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === "0") j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart === -1) return groups.join(":");
  const head = groups.slice(0, bestStart).join(":");
  const tail = groups.slice(bestStart + bestLength).join(":");
  const address = `${head}::${tail}`;
  // An IPv4-mapped address is reported in its IPv4 form, as sockets report them.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(address);
  if (mapped) {
    const hi = parseInt(mapped[1] as string, 16);
    const lo = parseInt(mapped[2] as string, 16);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return address;
}
