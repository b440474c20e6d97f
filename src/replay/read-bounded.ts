import { Buffer } from "node:buffer";

/**
 * A fetch answer's body up to `maxBytes`: a replay holds no more than it compares. Past the bound the
 * stream is cancelled and the body returned cut, marked `truncated` (callers skip such an answer).
 */
export async function readBounded(res: Response, maxBytes: number): Promise<{ body: Buffer; truncated: boolean }> {
  if (!res.body) return { body: Buffer.alloc(0), truncated: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size));
      size = maxBytes;
      await reader.cancel();
      return { body: Buffer.concat(chunks, size), truncated: true };
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { body: Buffer.concat(chunks, size), truncated: false };
}
