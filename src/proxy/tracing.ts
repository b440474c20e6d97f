import type { IncomingMessage } from "node:http";
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type SpanContext, type TextMapSetter } from "@opentelemetry/api";
import type { Decision } from "../decision/decider.ts";
import { UNROUTED } from "../metrics/proxy-metrics.ts";
import type { CompiledRoute } from "../routing/route-table.ts";
import { decisionLabel } from "./access-log.ts";

/**
 * OpenTelemetry spans through `@opentelemetry/api` only: a no-op until the application registers an SDK
 * (a tracer provider and a propagator, e.g. `@opentelemetry/sdk-node` configured by `OTEL_*`). With
 * none, a request costs one non-recording span and nothing more is made for it.
 *
 * A proxied request is a SERVER span (the client's W3C `traceparent` its parent), each upstream attempt a
 * CLIENT span under it whose context replaces `traceparent` on the way out (the trace is continued, not
 * passed through), and the shadow call a CLIENT span of its own trace, linked to the request's span, so
 * the shadow's latency never stretches the request's trace.
 */
import { clientOf } from "../edge/client.ts";

const tracer = trace.getTracer("strangler-fig");

/**
 * The request's server span, or undefined when no SDK records spans. Its name and attributes are built
 * only for a recording span: an untraced request makes no string or object for them.
 * `startTime` is a `performance.now()` reading, which OpenTelemetry accepts as such.
 */
export function startServerSpan(req: IncomingMessage, route: CompiledRoute | undefined, decision: Decision | undefined, requestId: string, path: string, startTime: number): Span | undefined {
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = tracer.startSpan("proxy", { kind: SpanKind.SERVER, startTime }, parent);
  if (!span.isRecording()) return undefined;
  const method = req.method ?? "GET";
  span.updateName(`${method} ${route ? route.config.match.path : "unrouted"}`);
  const client = clientOf(req);
  span.setAttributes({
    "http.request.method": method,
    "url.path": path,
    "url.scheme": client.scheme,
    "network.protocol.version": client.protocol.slice("HTTP/".length), // "1.0", "1.1", "2"
    "client.address": client.address,
    "strangler.route": route?.id ?? UNROUTED,
    "strangler.decision": decisionLabel(decision),
    "strangler.request_id": requestId,
  });
  return span;
}

/**
 * Trace context into a flat header list (see upstreamRequestHeaders): a field the client sent under that
 * name (its own `traceparent`, say) is replaced, as setting it on an object did; any other is appended.
 * The list's names are lower-case, as the propagators' are.
 */
const FLAT_HEADERS: TextMapSetter<string[]> = {
  set(carrier, key, value) {
    for (let i = 0; i < carrier.length; i += 2) {
      if (carrier[i] === key) {
        carrier[i + 1] = value;
        return;
      }
    }
    carrier.push(key, value);
  },
};

/** An upstream attempt under `server`; its context goes out in `headers` (traceparent, tracestate). */
export function startUpstreamSpan(server: Span, backend: string, headers: string[]): Span {
  const span = tracer.startSpan(`upstream ${backend}`, { kind: SpanKind.CLIENT, attributes: { "strangler.backend": backend } }, trace.setSpan(ROOT_CONTEXT, server));
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), headers, FLAT_HEADERS);
  return span;
}

/** The shadow call: a trace of its own, linked to the request's span; its context goes out in `headers`. */
export function startShadowSpan(link: SpanContext, backend: string, headers: string[]): Span {
  const span = tracer.startSpan(`shadow ${backend}`, { kind: SpanKind.CLIENT, root: true, links: [{ context: link }], attributes: { "strangler.backend": backend, "strangler.shadow": true } });
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), headers, FLAT_HEADERS);
  return span;
}

/** Ends a span with the HTTP status it saw (5xx and failures are errors), or the failure. */
export function endSpan(span: Span, status: number | undefined, failure?: string): void {
  if (status !== undefined) span.setAttribute("http.response.status_code", status);
  if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
  else if (status !== undefined && status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
