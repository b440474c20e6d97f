import { Counter, Gauge, type Registry } from "prom-client";
import type { CertificateSet } from "../edge/certificates.ts";
import type { CertificateEvents } from "../edge/certificate-reloader.ts";
import type { EdgeEvents, EdgeRefusal } from "../edge/edge-listener.ts";

/** The edge's metrics: connections by protocol, connections refused before HTTP, and certificates. */
export interface EdgeMetrics extends CertificateEvents {
  /** The events of one listener (`data` or `admin`). */
  listener(name: string): EdgeEvents;
  /** Reports a listener's open client connections (read at each scrape). */
  openConnections(listener: string, count: () => number): void;
}

const REFUSALS: readonly EdgeRefusal[] = ["proxy_protocol_invalid", "tls_handshake_failed", "first_bytes_timeout"];

/**
 * Registers the edge's metrics. Labels are listener names, protocols, refusal reasons and certificate
 * names from the config's files: a fixed set.
 */
export function createEdgeMetrics(registry: Registry): EdgeMetrics {
  const connections = new Counter({ name: "strangler_client_connections_total", help: "Client connections handed to an HTTP server, by listener and protocol (http/1.1, h2 over TLS, h2c)", labelNames: ["listener", "protocol"] as const, registers: [registry] });
  const refused = new Counter({ name: "strangler_edge_refused_connections_total", help: "Client connections closed before any HTTP: a bad PROXY header, a failed TLS handshake, no first bytes in time", labelNames: ["listener", "reason"] as const, registers: [registry] });
  const reloads = new Counter({ name: "strangler_tls_certificate_reloads_total", help: "Replaced certificate files: loaded, or refused (the previous certificates kept serving)", labelNames: ["listener", "outcome"] as const, registers: [registry] });
  const served = new Map<string, CertificateSet>();
  const open = new Map<string, () => number>();
  new Gauge({
    name: "strangler_client_connections_open",
    help: "Client connections open now (TCP), of every protocol, by listener",
    labelNames: ["listener"] as const,
    registers: [registry],
    collect() {
      for (const [listener, count] of open) this.labels(listener).set(count());
    },
  });
  new Gauge({
    name: "strangler_tls_certificate_expiry_seconds",
    help: "Seconds until each served certificate's notAfter (negative once expired)",
    labelNames: ["listener", "certificate"] as const,
    registers: [registry],
    aggregator: "min",
    collect() {
      this.reset();
      const now = Date.now();
      for (const [listener, set] of served) for (const certificate of set.all) this.labels(listener, certificate.label).set(Math.round((certificate.notAfter - now) / 1000));
    },
  });
  return {
    listener(name) {
      for (const reason of REFUSALS) refused.labels(name, reason).inc(0);
      return {
        refused: (reason) => refused.labels(name, reason).inc(),
        connection: (protocol) => connections.labels(name, protocol).inc(),
      };
    },
    openConnections(listener, count) {
      open.set(listener, count);
    },
    reloaded(listener, outcome) {
      reloads.labels(listener, outcome).inc();
    },
    serving(listener, set) {
      for (const outcome of ["loaded", "refused"] as const) reloads.labels(listener, outcome).inc(0);
      served.set(listener, set);
    },
  };
}
