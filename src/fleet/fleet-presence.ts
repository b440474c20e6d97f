import process from "node:process";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { FleetNode, FleetStore } from "../store/fleet-store.ts";

/** A node's id in the fleet: host, pid and a random part (a pid may come back after a restart). */
export const newNodeId = (): string => `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;

/** This node's place in the fleet: its id, a heartbeat in the store, and the list of the live nodes. */
export interface FleetPresence {
  readonly nodeId: string;
  nodes(): Promise<Array<FleetNode & { readonly self: boolean }>>;
  /** Stops the heartbeat and leaves the registry (a clean shutdown). */
  leave(): Promise<void>;
}

/**
 * Registers the node (its id, data plane address and version) and beats every `heartbeatMs`; a failed
 * beat is logged and retried on the next one. A node not heard from for three beats is not listed.
 */
export async function joinFleet(
  store: FleetStore,
  node: { readonly nodeId: string; readonly address: string; readonly version: string; readonly heartbeatMs: number },
  logger: Logger,
  clock: () => number = Date.now,
): Promise<FleetPresence> {
  const self = { nodeId: node.nodeId, address: node.address, version: node.version, startedAt: clock() };
  await store.heartbeat(self, clock());
  const timer = setInterval(() => {
    store.heartbeat(self, clock()).catch((error: Error) => logger.warn({ err: error.message }, "fleet heartbeat failed"));
  }, node.heartbeatMs);
  timer.unref();
  return {
    nodeId: self.nodeId,
    async nodes() {
      return (await store.nodes(clock() - 3 * node.heartbeatMs)).map((n) => ({ ...n, self: n.nodeId === self.nodeId }));
    },
    async leave() {
      clearInterval(timer);
      await store.leave(self.nodeId).catch(() => undefined);
    },
  };
}
