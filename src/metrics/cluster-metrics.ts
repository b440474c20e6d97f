import process from "node:process";
import cluster from "node:cluster";
import { randomUUID } from "node:crypto";
import { AggregatorRegistry, type Registry } from "prom-client";

/**
 * `--workers N` is one proxy to Prometheus: whichever worker a scrape lands on asks the primary, which
 * collects every worker's registry (prom-client's AggregatorRegistry) and answers with the sum (counters
 * and histograms add up; gauges say how they combine, see the metric factories).
 */
const REQUEST = "strangler:cluster-metrics";
const ANSWER = "strangler:cluster-metrics-answer";

interface MetricsRequest {
  readonly type: typeof REQUEST;
  readonly id: string;
}
interface MetricsAnswer {
  readonly type: typeof ANSWER;
  readonly id: string;
  readonly text?: string;
  readonly error?: string;
}

const isRequest = (m: unknown): m is MetricsRequest => typeof m === "object" && m !== null && (m as { type?: unknown }).type === REQUEST;
const isAnswer = (m: unknown): m is MetricsAnswer => typeof m === "object" && m !== null && (m as { type?: unknown }).type === ANSWER;

/** In the primary: answers workers' requests for the cluster's metrics. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker, message: unknown) => {
    if (!isRequest(message)) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: ANSWER, id: message.id, text } satisfies MetricsAnswer),
      (error: Error) => worker.send({ type: ANSWER, id: message.id, error: error.message } satisfies MetricsAnswer),
    );
  });
}

/** The text a scrape answers with, and its content type. */
export interface MetricsSource {
  readonly contentType: string;
  text(): Promise<string>;
}

/** One process's own metrics. */
export function localMetrics(registry: Registry): MetricsSource {
  return { contentType: registry.contentType, text: () => registry.metrics() };
}

/**
 * In a worker: lends its registry to the primary's aggregation and asks the primary for the cluster's
 * metrics on each scrape. Rejects after `timeoutMs` (prom-client itself gives up on a silent worker after 5 s).
 */
export function clusterMetrics(registry: Registry, timeoutMs: number): MetricsSource {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // registers this worker's answer to the primary's collection
  const pending = new Map<string, (answer: MetricsAnswer) => void>();
  process.on("message", (message: unknown) => {
    if (isAnswer(message)) pending.get(message.id)?.(message);
  });
  return {
    contentType: registry.contentType,
    text: () =>
      new Promise<string>((resolve, reject) => {
        const id = randomUUID();
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`the primary did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, (answer) => {
          clearTimeout(timer);
          pending.delete(id);
          if (answer.text !== undefined) resolve(answer.text);
          else reject(new Error(answer.error ?? "no metrics"));
        });
        process.send?.({ type: REQUEST, id } satisfies MetricsRequest);
      }),
  };
}
