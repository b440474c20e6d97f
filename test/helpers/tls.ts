import { writeFileSync } from "node:fs";
import { connect as connectHttp2, type IncomingHttpHeaders } from "node:http2";
import { join } from "node:path";
import { Agent, fetch as undiciFetch, type RequestInit, type Response } from "undici";
import { createThrowawayCa, type PemCertificate, type ThrowawayCa } from "../../src/edge/throwaway-ca.ts";

export { createThrowawayCa, type ThrowawayCa };

/** Writes a certificate and its key as PEM files in `dir`; returns their paths. */
export function writePem(dir: string, name: string, pair: PemCertificate): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  writeFileSync(cert, pair.cert);
  writeFileSync(key, pair.key);
  return { cert, key };
}

/** An undici dispatcher for fetch that trusts `ca` (and nothing else): HTTPS as a real client does it. */
export function trusting(ca: ThrowawayCa, options: { allowH2?: boolean } = {}): Agent {
  return new Agent({ connect: { ca: ca.cert }, allowH2: options.allowH2 ?? false });
}

/** `fetch` through a client that trusts `ca` (undici's own fetch, whose dispatcher type is the Agent's). */
export function fetchTrusting(ca: ThrowawayCa, url: string, init: RequestInit = {}): Promise<Response> {
  return undiciFetch(url, { ...init, dispatcher: trusting(ca) });
}

/** One HTTP/2 exchange over TLS with a client that trusts `ca`: status, headers and body. */
export async function h2Request(
  url: string,
  ca: ThrowawayCa | undefined,
  request: { readonly path: string; readonly method?: string; readonly headers?: Record<string, string>; readonly body?: Buffer | string },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const session = connectHttp2(url, ca ? { ca: ca.cert } : {});
  try {
    return await new Promise((resolve, reject) => {
      session.once("error", reject);
      const stream = session.request({ ":path": request.path, ":method": request.method ?? "GET", ...request.headers });
      const chunks: Buffer[] = [];
      let head: IncomingHttpHeaders = {};
      stream.once("response", (headers) => (head = headers));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.once("end", () => resolve({ status: Number(head[":status"]), headers: head, body: Buffer.concat(chunks) }));
      stream.once("error", reject);
      stream.end(request.body);
    });
  } finally {
    session.close();
  }
}
