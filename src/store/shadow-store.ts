import type { EvidenceBatchItem, EvidenceRetention, ExampleRecord, NoiseRecord, NoiseStatus, OutcomeCounts, ShadowRepository, SignatureRecord } from "./shadow-repository.ts";

/**
 * Shadow comparison evidence as every store offers it (SQLite or PostgreSQL): the same operations as
 * `ShadowRepository`, asynchronous. Pinned by test/contract/shadow-store.contract.test.ts on both.
 */
export interface ShadowStore {
  /**
   * True when a batch written reaches readers only once the fleet's judge has folded it, and old evidence
   * is pruned by the judge, not by each node's writer (PostgreSQL: src/store/postgres/fleet-inbox.ts);
   * false when a write is read back at once and each writer prunes (SQLite).
   */
  readonly foldedByJudge: boolean;
  writeBatch(items: readonly EvidenceBatchItem[], retention: EvidenceRetention): Promise<void>;
  prune(retention: EvidenceRetention): Promise<void>;
  outcomes(routeId: string, sinceMinute: number): Promise<OutcomeCounts>;
  /** `outcomes` for many routes at once (one query on PostgreSQL); a route without any has none in the map. */
  outcomesOf(routeIds: readonly string[], sinceMinute: number): Promise<Map<string, OutcomeCounts>>;
  outcomesByMinute(routeId: string, sinceMinute: number): Promise<Array<{ minute: number; compared: number; match: number }>>;
  signatures(routeId: string, status?: SignatureRecord["status"]): Promise<SignatureRecord[]>;
  /** Each route's `perRoute` most frequent signatures of a status (one query on PostgreSQL), as `signatures` orders them. */
  topSignatures(routeIds: readonly string[], status: SignatureRecord["status"], perRoute: number): Promise<Map<string, SignatureRecord[]>>;
  signature(id: number): Promise<SignatureRecord | undefined>;
  examples(signatureId: number, limit: number): Promise<ExampleRecord[]>;
  acknowledge(id: number, status: SignatureRecord["status"], reason: string): Promise<SignatureRecord | undefined>;
  resetRoute(routeId: string): Promise<{ signatures: number; outcomes: number }>;
  noise(routeId?: string): Promise<NoiseRecord[]>;
  noiseSamples(routeId: string): Promise<number>;
  setNoiseStatus(routeId: string, path: string, kind: string, status: NoiseStatus): Promise<NoiseRecord>;
}

/** The SQLite repository behind the asynchronous interface. */
export function sqliteShadowStore(r: ShadowRepository): ShadowStore {
  return {
    foldedByJudge: false,
    writeBatch: async (items, retention) => r.writeBatch(items, retention),
    prune: async (retention) => r.prune(retention),
    outcomes: async (routeId, since) => r.outcomes(routeId, since),
    // In-process: a statement per route costs what one grouped query would.
    outcomesOf: async (routeIds, since) => new Map(routeIds.map((id) => [id, r.outcomes(id, since)])),
    topSignatures: async (routeIds, status, perRoute) => new Map(routeIds.map((id) => [id, r.signatures(id, status).slice(0, perRoute)])),
    outcomesByMinute: async (routeId, since) => r.outcomesByMinute(routeId, since),
    signatures: async (routeId, status) => r.signatures(routeId, status),
    signature: async (id) => r.signature(id),
    examples: async (id, limit) => r.examples(id, limit),
    acknowledge: async (id, status, reason) => r.acknowledge(id, status, reason),
    resetRoute: async (routeId) => r.resetRoute(routeId),
    noise: async (routeId) => r.noise(routeId),
    noiseSamples: async (routeId) => r.noiseSamples(routeId),
    setNoiseStatus: async (routeId, path, kind, status) => r.setNoiseStatus(routeId, path, kind, status),
  };
}
