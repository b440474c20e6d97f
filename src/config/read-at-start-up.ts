import type { StranglerConfig } from "./schema.ts";

/**
 * The keys the proxy reads once, when it starts: listeners, HTTP/2 settings, TLS contexts, arenas,
 * queues, pools of workers and timers are built from them. A reload validates them like any key but
 * cannot apply a change; it says so (`startUpKeysChanged`), and the configuration reference marks them.
 * A prefix stands for every key under it. Every other key applies on reload, within a second of the save.
 */
export const READ_AT_START_UP: readonly string[] = [
  "openFeature",
  "server.maxHeaderBytes",
  "server.maxBufferedRequestBytes",
  "server.tls",
  "server.http2",
  "server.proxyProtocol",
  "admin.maxBodyBytes",
  "admin.metricsTimeoutMs",
  "admin.tls",
  "shadowing.maxQueuedComparisons",
  "shadowing.maxBufferedBytes",
  "shadowing.workerThresholdBytes",
  "shadowing.maxQueuedEvidence",
  "shadowing.evidenceFlushMs",
  "fleet",
  "map.maxTrieNodes",
  "map.maxLiterals",
  "map.maxDepth",
  "map.flushMs",
  "map.retentionMs",
  "recording.maxBufferedBytes",
  "recording.flushMs",
  "recording.refreshMs",
];

/** Whether a key (a dotted path, as the configuration reference writes it) is read at start-up only. */
export function isReadAtStartUp(path: string): boolean {
  return READ_AT_START_UP.some((prefix) => path === prefix || path.startsWith(`${prefix}.`));
}

function valueAt(config: StranglerConfig, path: string): unknown {
  let value: unknown = config;
  for (const part of path.split(".")) value = value === undefined || value === null ? undefined : (value as Record<string, unknown>)[part];
  return value;
}

/** The start-up keys whose value differs between two configs: what a reload left as it was. */
export function startUpKeysChanged(previous: StranglerConfig, next: StranglerConfig): string[] {
  return READ_AT_START_UP.filter((path) => {
    const [before, after] = [valueAt(previous, path), valueAt(next, path)];
    // A provider is an object made by the config file, a new one on every load: compare presence only.
    if (path === "openFeature") return (before === undefined) !== (after === undefined);
    return JSON.stringify(before) !== JSON.stringify(after);
  });
}
