import { pino, type Logger } from "pino";

export interface LoggerOptions {
  /** pino level; default `info` (lifecycle events and failures only: the proxy logs no line per request). */
  readonly level?: string;
  /** Human-readable lines through pino-pretty instead of JSON. */
  readonly pretty?: boolean;
}

/** Structured JSON logs on stdout; `pretty` for a terminal. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  if (options.pretty) {
    return pino({ level, transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } });
  }
  return pino({ level, base: { service: "strangler-fig" } });
}
