import type { BackendConfig } from "../config/schema.ts";
import type { Destination } from "./destination.ts";

/** Why a request was not sent to a backend whose queue is full. A fixed set: used as a label value. */
export type OverloadReason = "pending_requests" | "streaming_uploads";

/** The streaming-upload bound of each destination of a backend: configured, or half of its connections. */
export function maxStreamingUploadsOf(config: BackendConfig): number {
  return config.maxStreamingUploads ?? Math.max(1, Math.floor(config.maxSockets / 2));
}

/**
 * Takes a place on a destination for one request, or says why there is none: more requests already wait
 * for one of its connections than `maxPendingRequests`, or a streaming body would hold one connection
 * more than `maxStreamingUploads`. The bounds are the backend's, per destination (each has its own
 * pool). A request that was admitted must be released exactly once.
 */
export function admit(destination: Destination, config: BackendConfig, streamingUpload: boolean): OverloadReason | undefined {
  const { load } = destination;
  if (load.inFlight >= config.maxSockets + config.maxPendingRequests) return "pending_requests";
  if (streamingUpload && load.streamingUploads >= maxStreamingUploadsOf(config)) return "streaming_uploads";
  load.inFlight++;
  if (streamingUpload) load.streamingUploads++;
  return undefined;
}

/** Gives back the place `admit` took. */
export function release(destination: Destination, streamingUpload: boolean): void {
  destination.load.inFlight--;
  if (streamingUpload) destination.load.streamingUploads--;
}
