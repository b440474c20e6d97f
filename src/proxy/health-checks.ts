import type { HealthCheckConfig } from "../config/schema.ts";
import type { Clock } from "../guard/clock.ts";
import type { Destination, DestinationObserver } from "./destination.ts";
import { basePathOf } from "../config/schema.ts";

/** The destinations a health check walks: the set's current ones. */
interface Checked {
  readonly name: string;
  readonly destinations: readonly Destination[];
}

/** Whether `status` passes: one of `expectStatus`, or any 2xx without it. */
function passes(status: number, expect: HealthCheckConfig["expectStatus"]): boolean {
  if (expect === undefined) return status >= 200 && status < 300;
  return typeof expect === "number" ? status === expect : expect.includes(status);
}

/**
 * Active health checks of one backend's destinations: every `intervalMs`, `GET <base path><path>` on each,
 * on a connection of its own to the destination's address, each bounded by `timeoutMs`. A destination's verdict flips after `unhealthyThreshold` failures
 * or `healthyThreshold` passes in a row.
 */
export class HealthChecks {
  #timer: NodeJS.Timeout | undefined = undefined;
  #stopped = false;
  /** Checks under way, so that a slow destination is never asked twice at once. */
  readonly #running = new Set<Destination>();

  constructor(
    private readonly set: Checked,
    private readonly config: HealthCheckConfig,
    private readonly clock: Clock,
    private readonly observer: DestinationObserver,
  ) {}

  start(): void {
    if (this.#timer || this.#stopped) return;
    this.checkNow(this.set.destinations);
    this.#timer = setInterval(() => this.checkNow(this.set.destinations), this.config.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  /** Checks `destinations` now (new ones are checked at once, not at the next tick). */
  checkNow(destinations: readonly Destination[]): void {
    if (this.#stopped) return;
    for (const d of destinations) if (!this.#running.has(d) && !d.leaving) void this.#check(d);
  }

  async #check(d: Destination): Promise<void> {
    this.#running.add(d);
    const { config } = this;
    let ok = false;
    let detail: string;
    try {
      const answer = await d.checkPool.request({
        path: basePathOf(d.url) + config.path,
        method: "GET",
        headers: { host: d.host, "user-agent": "strangler-fig-health-check" },
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
        // The connection's time too: the whole check is bounded.
        signal: AbortSignal.timeout(config.timeoutMs),
      });
      await answer.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      ok = passes(answer.statusCode, config.expectStatus);
      detail = `status ${answer.statusCode}`;
    } catch (error) {
      const e = error as Error & { code?: string };
      detail = e.name === "TimeoutError" || e.code === "UND_ERR_HEADERS_TIMEOUT" ? `no answer within ${config.timeoutMs} ms` : (e.code ?? e.message);
    } finally {
      this.#running.delete(d);
    }
    if (this.#stopped || d.leaving) return;
    this.#record(d, ok, detail);
  }

  #record(d: Destination, ok: boolean, detail: string): void {
    d.lastCheck = { atMs: this.clock.now(), ok, detail };
    d.streak = ok ? Math.max(1, d.streak + 1) : Math.min(-1, d.streak - 1);
    const flips = d.healthy ? !ok && -d.streak >= this.config.unhealthyThreshold : ok && d.streak >= this.config.healthyThreshold;
    if (!flips) return;
    d.healthy = !d.healthy;
    this.observer.healthChanged(this.set.name, d.origin, d.healthy, detail);
  }
}
