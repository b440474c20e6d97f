import { describe, expect, it } from "vitest";
import { backendSchema } from "../../../src/config/schema.ts";
import { admit, maxStreamingUploadsOf, release } from "../../../src/proxy/admission.ts";
import type { BackendConfig } from "../../../src/config/schema.ts";
import { Destination } from "../../../src/proxy/destination.ts";
import { ManualClock } from "../../../src/guard/clock.ts";

const IGNORED = { circuitChanged: () => undefined, healthChanged: () => undefined };

/** A destination of a backend with `config`, and the config: admission's bounds are the backend's, counted per destination. */
function destination(config: Record<string, unknown>): { d: Destination; config: BackendConfig } {
  const parsed = backendSchema.parse({ url: "http://127.0.0.1:1", ...config });
  return { d: new Destination("b", { url: parsed.url, address: undefined }, parsed, new ManualClock(), IGNORED), config: parsed };
}

describe("admission to a destination's connections", () => {
  it("admits maxSockets + maxPendingRequests requests, then refuses at once; a release makes room", () => {
    const { d, config } = destination({ maxSockets: 2, maxPendingRequests: 3 });
    for (let i = 0; i < 5; i++) expect(admit(d, config, false)).toBeUndefined();
    expect(admit(d, config, false)).toBe("pending_requests");
    release(d, false);
    expect(admit(d, config, false)).toBeUndefined();
    expect(d.load.inFlight).toBe(5);
  });

  it("streaming uploads may hold half the connections by default, or the configured number", () => {
    expect(maxStreamingUploadsOf(destination({ maxSockets: 128 }).config)).toBe(64);
    expect(maxStreamingUploadsOf(destination({ maxSockets: 1 }).config)).toBe(1);
    const { d, config } = destination({ maxSockets: 8, maxStreamingUploads: 2 });
    expect(admit(d, config, true)).toBeUndefined();
    expect(admit(d, config, true)).toBeUndefined();
    expect(admit(d, config, true)).toBe("streaming_uploads");
    expect(admit(d, config, false)).toBeUndefined(); // a buffered request still gets in
    release(d, true);
    expect(admit(d, config, true)).toBeUndefined();
    expect(d.load).toEqual({ inFlight: 3, streamingUploads: 2 });
  });
});
