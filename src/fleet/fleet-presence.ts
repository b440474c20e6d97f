import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { FleetNode, FleetStore } from "../store/fleet-store.ts";

/** How often a node says it is alive; a node not heard from for three of these is no longer listed. */
export const HEARTBEAT_MS = 5_000;

/** This node's place in the fleet: its id, a heartbeat in the store, and the list of the live nodes. */
export interface FleetPresence {
  readonly nodeId: string;
  nodes(): Promise<Array<FleetNode & { readonly self: boolean }>>;
  /** Stops the heartbeat and leaves the registry (a clean shutdown). */
  leave(): Promise<void>;
}

/**
 * Registers the node (`host:pid:random`, its data plane address and version) and beats every
 * `HEARTBEAT_MS`; a failed beat is logged and retried on the next one.
 */
export async function joinFleet(store: FleetStore, node: { readonly address: string; readonly version: string }, logger: Logger, clock: () => number = Date.now): Promise<FleetPresence> {
  const self = { nodeId: `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`, address: node.address, version: node.version, startedAt: clock() };
  await store.heartbeat(self, clock());
  const timer = setInterval(() => {
    store.heartbeat(self, clock()).catch((error: Error) => logger.warn({ err: error.message }, "fleet heartbeat failed"));
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    nodeId: self.nodeId,
    async nodes() {
      return (await store.nodes(clock() - 3 * HEARTBEAT_MS)).map((n) => ({ ...n, self: n.nodeId === self.nodeId }));
    },
    async leave() {
      clearInterval(timer);
      await store.leave(self.nodeId).catch(() => undefined);
    },
  };
}
