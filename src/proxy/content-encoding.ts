import type { Buffer } from "node:buffer";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";

/**
 * A body decoded from its Content-Encoding (gzip, br, deflate; none or `identity` as it is), inflating to
 * at most `maxBytes` (a bound on decompression bombs). Undefined for a coding this does not decode; throws
 * when the bytes are not what the coding says, or inflate past the bound.
 */
export function decodeContent(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer | undefined {
  const coding = encoding?.trim().toLowerCase();
  if (coding === undefined || coding === "" || coding === "identity") return body;
  const options = { maxOutputLength: maxBytes };
  if (coding === "gzip" || coding === "x-gzip") return gunzipSync(body, options);
  if (coding === "br") return brotliDecompressSync(body, options);
  if (coding === "deflate") return inflateSync(body, options);
  return undefined;
}
