import { describe, expect, it } from "vitest";
import { backendSchema } from "../../../src/config/schema.ts";
import { admit, maxStreamingUploadsOf, release } from "../../../src/proxy/admission.ts";
import type { Backend } from "../../../src/proxy/backend-pool.ts";

function backend(config: Record<string, unknown>): Backend {
  return { name: "b", config: backendSchema.parse({ url: "http://127.0.0.1:1", ...config }), load: { inFlight: 0, streamingUploads: 0 } } as unknown as Backend;
}

describe("admission to a backend's connections", () => {
  it("admits maxSockets + maxPendingRequests requests, then refuses at once; a release makes room", () => {
    const b = backend({ maxSockets: 2, maxPendingRequests: 3 });
    for (let i = 0; i < 5; i++) expect(admit(b, false)).toBeUndefined();
    expect(admit(b, false)).toBe("pending_requests");
    release(b, false);
    expect(admit(b, false)).toBeUndefined();
    expect(b.load.inFlight).toBe(5);
  });

  it("streaming uploads may hold half the connections by default, or the configured number", () => {
    expect(maxStreamingUploadsOf(backend({ maxSockets: 128 }))).toBe(64);
    expect(maxStreamingUploadsOf(backend({ maxSockets: 1 }))).toBe(1);
    const b = backend({ maxSockets: 8, maxStreamingUploads: 2 });
    expect(admit(b, true)).toBeUndefined();
    expect(admit(b, true)).toBeUndefined();
    expect(admit(b, true)).toBe("streaming_uploads");
    expect(admit(b, false)).toBeUndefined(); // a buffered request still gets in
    release(b, true);
    expect(admit(b, true)).toBeUndefined();
    expect(b.load).toEqual({ inFlight: 3, streamingUploads: 2 });
  });
});
