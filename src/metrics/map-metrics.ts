import { Counter, Gauge, type Registry } from "prom-client";
import type { FleetEvidence } from "../guard/fleet-evidence.ts";
import type { TrafficMap } from "../map/traffic-map.ts";

/**
 * The migration map's metrics, with bounded labels: no template is a label (there may be thousands);
 * only configured routes are.
 */
export function registerMapMetrics(registry: Registry, map: TrafficMap, routeIds: () => readonly string[]): void {
  new Counter({
    name: "strangler_map_overflow_total",
    help: "Requests the migration map could not fold into a template (its trie was full: map.maxTrieNodes)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(map.overflow);
    },
  });
  new Gauge({
    name: "strangler_map_trie_nodes",
    help: "Nodes in this process's template trie (bounded by map.maxTrieNodes)",
    registers: [registry],
    collect() {
      this.set(map.trie.size);
    },
  });
  new Gauge({
    name: "strangler_map_monolith_last_served_timestamp_seconds",
    help: "When this process last saw the monolith answer a request of the route (Unix time): the proof of death counts down from it",
    labelNames: ["route"],
    registers: [registry],
    collect() {
      this.reset();
      const ids = new Set(routeIds());
      for (const [route, at] of map.lastMonolithByRoute) if (ids.has(route)) this.labels(route).set(at / 1000);
    },
  });
}

/** Evidence counts dropped because the store stayed unreachable past fleet.evidenceRetentionMs. */
export function registerEvidenceMetrics(registry: Registry, evidence: FleetEvidence): void {
  new Counter({
    name: "strangler_evidence_dropped_total",
    help: "Requests, comparisons and fallbacks whose evidence was dropped: the store stayed unreachable past fleet.evidenceRetentionMs",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(evidence.dropped);
    },
  });
}

/** The database round trips this process has made (PostgreSQL), per database: what it costs the fleet's database. */
export function registerStoreMetrics(registry: Registry, checkouts: () => { readonly main: number; readonly evidence: number }): void {
  new Counter({
    name: "strangler_store_checkouts_total",
    help: "Connections taken from the PostgreSQL pools (one per transaction or lone statement), by database: main, or evidence (EVIDENCE_DATABASE_URL); none on SQLite",
    labelNames: ["database"],
    registers: [registry],
    collect() {
      this.reset();
      const now = checkouts();
      this.inc({ database: "main" }, now.main);
      this.inc({ database: "evidence" }, now.evidence);
    },
  });
}
