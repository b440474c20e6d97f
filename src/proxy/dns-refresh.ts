import { lookup as dnsLookup } from "node:dns/promises";

/** Resolves a host name to its addresses (`dns.lookup` with `all: true`, or a test's own). */
export type Lookup = (hostname: string) => Promise<ReadonlyArray<{ readonly address: string; readonly family: number }>>;

/** The system resolver, as each new connection would use it (`/etc/hosts`, then DNS). */
export const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** IPv4 addresses when there are any, else the IPv6 ones (Envoy's V4_PREFERRED): a service bound to 0.0.0.0 is not asked on ::1. */
export function preferredAddresses(found: ReadonlyArray<{ readonly address: string; readonly family: number }>): string[] {
  const v4 = found.filter((a) => a.family === 4).map((a) => a.address);
  return [...new Set(v4.length > 0 ? v4 : found.map((a) => a.address))];
}

/** What the refresh updates: the backend's destinations of one URL; and who hears that a name stopped (or started again) resolving. */
interface Resolved {
  readonly name: string;
  resolved(url: string, addresses: readonly string[]): void;
  /** A host name's lookup failed after it had not (`error`), or succeeded after it had failed (undefined): said once per change, not per lookup. */
  resolutionChanged(hostname: string, error: string | undefined): void;
}

/** A connection error resolves again, but no sooner than this after the last resolution. */
const SOONEST_AGAIN_MS = 1_000;

/**
 * Resolves the host names of a backend's URLs now and every `everyMs`, and at a connection error (at most
 * once a second), so that each address is a destination and a pool behind DNS is followed as it scales.
 * A lookup that fails, or finds nothing, keeps the destinations there were (a DNS outage does not empty a
 * backend).
 */
export class DnsRefresh {
  #timer: NodeJS.Timeout | undefined = undefined;
  #stopped = false;
  #running = false;
  #lastAt = 0;
  /** Host names whose last lookup failed. */
  readonly #failing = new Set<string>();

  constructor(
    private readonly set: Resolved,
    private readonly urls: readonly string[],
    private readonly everyMs: number,
    private readonly lookup: Lookup,
  ) {}

  start(): void {
    if (this.#timer || this.#stopped) return;
    void this.#refresh();
    this.#timer = setInterval(() => void this.#refresh(), this.everyMs);
    this.#timer.unref();
  }

  /** Resolves again now, unless it did less than a second ago. */
  soon(): void {
    if (Date.now() - this.#lastAt >= SOONEST_AGAIN_MS) void this.#refresh();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  #failed(hostname: string, why: string): void {
    if (this.#stopped || this.#failing.has(hostname)) return;
    this.#failing.add(hostname);
    this.set.resolutionChanged(hostname, why);
  }

  async #refresh(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    this.#lastAt = Date.now();
    try {
      for (const url of this.urls) {
        const hostname = new URL(url).hostname;
        let addresses: string[];
        try {
          addresses = preferredAddresses(await this.lookup(hostname));
        } catch (error) {
          this.#failed(hostname, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
          continue; // kept as they were
        }
        if (this.#stopped) return;
        if (addresses.length === 0) {
          this.#failed(hostname, "no address");
          continue;
        }
        if (this.#failing.delete(hostname)) this.set.resolutionChanged(hostname, undefined);
        try {
          this.set.resolved(url, addresses);
        } catch {
          // An address no pool could be opened to: keep the destinations there were (never an unhandled rejection).
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
