import type { Backend } from "./backend-pool.ts";

/** Why a request was not sent to a backend whose queue is full. A fixed set: used as a label value. */
export type OverloadReason = "pending_requests" | "streaming_uploads";

/** The streaming-upload bound of a backend: configured, or half of its connections. */
export function maxStreamingUploadsOf(backend: Backend): number {
  return backend.config.maxStreamingUploads ?? Math.max(1, Math.floor(backend.config.maxSockets / 2));
}

/**
 * Takes a place on the backend for one request, or says why there is none: more requests already wait
 * for a connection than `maxPendingRequests`, or a streaming body would hold one connection more than
 * `maxStreamingUploads`. A request that was admitted must be released exactly once.
 */
export function admit(backend: Backend, streamingUpload: boolean): OverloadReason | undefined {
  const { load, config } = backend;
  if (load.inFlight >= config.maxSockets + config.maxPendingRequests) return "pending_requests";
  if (streamingUpload && load.streamingUploads >= maxStreamingUploadsOf(backend)) return "streaming_uploads";
  load.inFlight++;
  if (streamingUpload) load.streamingUploads++;
  return undefined;
}

/** Gives back the place `admit` took. */
export function release(backend: Backend, streamingUpload: boolean): void {
  backend.load.inFlight--;
  if (streamingUpload) backend.load.streamingUploads--;
}
