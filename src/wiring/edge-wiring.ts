import type { Logger } from "pino";
import { ConfigError } from "../config/config-error.ts";
import { CertificateError } from "../edge/certificates.ts";
import { certificateFiles, loadCertificateFiles, type TlsBlock } from "../edge/certificate-files.ts";
import { reloadCertificates, type CertificateReloader } from "../edge/certificate-reloader.ts";
import { createEdgeListener, type EdgeListener, type EdgeListenerOptions } from "../edge/edge-listener.ts";
import type { EdgeMetrics } from "../metrics/edge-metrics.ts";

/** A listener of the edge with its certificates followed (when it terminates TLS). */
export interface EdgeWiring {
  readonly listener: EdgeListener;
  /** `https` with TLS, else `http`. */
  readonly scheme: "http" | "https";
  readonly certificates: CertificateReloader | undefined;
  /** Stops following the certificate files. */
  stop(): void;
}

/** What a listener of the edge is built from: its options, with TLS as the config's block and metrics for its events. */
export interface EdgeDeps extends Omit<EdgeListenerOptions, "tls" | "events"> {
  /** The config key of its TLS block (`server.tls`, `admin.tls`), for messages. */
  readonly tlsKey: string;
  readonly tls: (TlsBlock & { readonly reloadCheckMs: number; readonly handshakeTimeoutMs: number }) | undefined;
  readonly configPath: string;
  readonly metrics: EdgeMetrics;
}

/**
 * Opens a listener of the edge (not listening yet): reads its certificates, which must load (else
 * start-up stops with a ConfigError naming the file), and follows their files from then on.
 */
export async function wireEdge(deps: EdgeDeps): Promise<EdgeWiring> {
  const { tls, logger } = deps;
  let initial: Parameters<typeof reloadCertificates>[0]["initial"] | undefined;
  const files = tls ? certificateFiles(deps.tlsKey, tls, deps.configPath) : undefined;
  if (files) {
    try {
      initial = await loadCertificateFiles(files);
    } catch (error) {
      if (error instanceof CertificateError) throw new ConfigError(deps.configPath, [error.message]);
      throw error;
    }
  }
  const listener = createEdgeListener({
    name: deps.name,
    http1: deps.http1,
    http2: deps.http2,
    tls: tls && initial ? { certificates: initial.set, handshakeTimeoutMs: tls.handshakeTimeoutMs } : undefined,
    h2c: deps.h2c,
    proxyProtocol: deps.proxyProtocol,
    trusted: deps.trusted,
    maxConnections: deps.maxConnections,
    firstBytesTimeoutMs: deps.firstBytesTimeoutMs,
    events: deps.metrics.listener(deps.name),
    logger,
  });
  deps.metrics.openConnections(deps.name, () => listener.connections());
  const certificates =
    files && initial && tls
      ? reloadCertificates({ listener: deps.name, files, initial, checkEveryMs: tls.reloadCheckMs, logger, events: deps.metrics, apply: (set) => listener.setCertificates(set) })
      : undefined;
  return { listener, scheme: tls ? "https" : "http", certificates, stop: () => certificates?.stop() };
}
