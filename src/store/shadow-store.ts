import type { EvidenceBatchItem, EvidenceRetention, ExampleRecord, NoiseRecord, NoiseStatus, OutcomeCounts, ShadowRepository, SignatureRecord } from "./shadow-repository.ts";

/**
 * Shadow comparison evidence as every store offers it (SQLite or PostgreSQL): the same operations as
 * `ShadowRepository`, asynchronous. Pinned by test/contract/shadow-store.contract.test.ts on both.
 */
export interface ShadowStore {
  /**
   * True when old evidence is pruned by the fleet's judge as it folds (PostgreSQL), so the nodes' writers
   * do not each scan the tables; false when each writer prunes (SQLite).
   */
  readonly prunedByJudge: boolean;
  writeBatch(items: readonly EvidenceBatchItem[], retention: EvidenceRetention): Promise<void>;
  prune(retention: EvidenceRetention): Promise<void>;
  outcomes(routeId: string, sinceMinute: number): Promise<OutcomeCounts>;
  outcomesByMinute(routeId: string, sinceMinute: number): Promise<Array<{ minute: number; compared: number; match: number }>>;
  signatures(routeId: string, status?: SignatureRecord["status"]): Promise<SignatureRecord[]>;
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
    prunedByJudge: false,
    writeBatch: async (items, retention) => r.writeBatch(items, retention),
    prune: async (retention) => r.prune(retention),
    outcomes: async (routeId, since) => r.outcomes(routeId, since),
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
