import type { Logger } from "pino";

/** Logs events that can repeat once per request (a failure storm) at most once per key and interval. */
export interface RepeatedEvents {
  /**
   * Logs `message` with `fields` the first time `key` is seen in an interval; later ones in the same
   * interval are only counted, and the count is logged (`repeated`) when the interval is over.
   */
  warn(key: string, fields: Readonly<Record<string, unknown>>, message: string): void;
  info(key: string, fields: Readonly<Record<string, unknown>>, message: string): void;
  /** Logs what is still counted and stops the timer. */
  close(): void;
}

interface Pending {
  readonly level: "warn" | "info";
  readonly fields: Readonly<Record<string, unknown>>;
  readonly message: string;
  repeated: number;
}

/**
 * Rate-limited logging for per-request events. Keys come from a small fixed set (event, route, backend,
 * code), so the map stays small; a line per request only ever comes from access logging.
 */
export function createRepeatedEvents(logger: Logger, intervalMs = 10_000): RepeatedEvents {
  let open = new Map<string, Pending>();
  const flush = () => {
    const ended = open;
    open = new Map();
    for (const p of ended.values()) {
      if (p.repeated > 0) logger[p.level]({ ...p.fields, repeated: p.repeated, intervalMs }, `${p.message} (repeated)`);
    }
  };
  const timer = setInterval(flush, intervalMs);
  timer.unref();
  const log = (level: "warn" | "info") => (key: string, fields: Readonly<Record<string, unknown>>, message: string) => {
    const seen = open.get(key);
    if (seen) {
      seen.repeated++;
      return;
    }
    open.set(key, { level, fields, message, repeated: 0 });
    logger[level](fields, message);
  };
  return {
    warn: log("warn"),
    info: log("info"),
    close() {
      clearInterval(timer);
      flush();
    },
  };
}
