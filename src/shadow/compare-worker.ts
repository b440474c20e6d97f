// Entry of the comparison worker pool (piscina): large bodies are decoded, parsed and diffed here,
// off the event loop that serves requests.
import { compareExchange, type ComparisonRequest, type ComparisonResult } from "./compare-exchange.ts";

export default function compareInWorker(request: ComparisonRequest): ComparisonResult {
  return compareExchange(request);
}
