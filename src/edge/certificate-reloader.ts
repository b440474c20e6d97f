import type { Logger } from "pino";
import type { CertificateSet } from "./certificates.ts";
import { certificateSetOf, readCertificateFiles, type CertificateFiles, type CertificateSnapshot } from "./certificate-files.ts";

/** What the reloader tells metrics: each attempt's outcome and the certificates in service. */
export interface CertificateEvents {
  reloaded(listener: string, outcome: "loaded" | "refused"): void;
  serving(listener: string, set: CertificateSet): void;
}

export interface CertificateReloaderOptions {
  /** `data` or `admin`: the label of its metrics and logs. */
  readonly listener: string;
  readonly files: CertificateFiles;
  /** The set read at start-up (from `initial`'s bytes). */
  readonly initial: { readonly set: CertificateSet; readonly snapshot: CertificateSnapshot };
  /** How often the files are read again; 0: never. */
  readonly checkEveryMs: number;
  readonly logger: Logger;
  readonly events: CertificateEvents;
  /** Puts a newly loaded set in service (new handshakes use it; open connections keep theirs). */
  readonly apply: (set: CertificateSet) => void;
}

/** Follows a listener's certificate files. */
export interface CertificateReloader {
  /** Reads the files now and applies them if they changed and load (the timer calls this). */
  check(): Promise<void>;
  stop(): void;
}

/**
 * Follows a listener's certificate files by reading them every `checkEveryMs` and comparing their
 * bytes, which sees every way they are replaced: an atomic rename, a symlink swap (a Kubernetes Secret
 * volume's `..data`), or one file rewritten after the other (certbot). Bytes that changed are loaded
 * as a whole set; a set that does not load (a key that is not its certificate's, a broken file) is
 * refused, logged and counted, and the set in service stays. The refused bytes are remembered, so they
 * are not retried until a file changes again: a key replaced before its certificate is refused once,
 * then loaded as soon as the certificate arrives.
 */
export function reloadCertificates(options: CertificateReloaderOptions): CertificateReloader {
  const { listener, files, logger, events } = options;
  let lastSeen = options.initial.snapshot.signature;
  let checking: Promise<void> | undefined;
  /** The last read error said, so that a file that stays unreadable is logged once. */
  let unreadable: string | undefined;
  events.serving(listener, options.initial.set);

  async function checkNow(): Promise<void> {
    let snapshot: CertificateSnapshot;
    try {
      snapshot = await readCertificateFiles(files);
      unreadable = undefined;
    } catch (error) {
      // A file missing for a moment (between a delete and a create) is not a refusal: read again next
      // time. One that stays missing is said once (a moved mount, a deleted file), not every check.
      const message = (error as Error).message;
      if (message !== unreadable) logger.warn({ listener, err: message }, "certificate files cannot be read; the certificates in service keep serving");
      unreadable = message;
      return;
    }
    if (snapshot.signature === lastSeen) return;
    lastSeen = snapshot.signature;
    try {
      const next = certificateSetOf(files, snapshot);
      options.apply(next);
      events.reloaded(listener, "loaded");
      events.serving(listener, next);
      logger.info({ listener, certificates: next.all.map((c) => ({ names: c.names, notAfter: new Date(c.notAfter).toISOString() })) }, "TLS certificates reloaded");
    } catch (error) {
      events.reloaded(listener, "refused");
      logger.error({ listener, err: (error as Error).message }, "new TLS certificates refused; the previous ones keep serving");
    }
  }

  const check = (): Promise<void> => (checking ??= checkNow().finally(() => (checking = undefined)));
  const timer = options.checkEveryMs > 0 ? setInterval(() => void check(), options.checkEveryMs) : undefined;
  timer?.unref();
  return { check, stop: () => clearInterval(timer) };
}
