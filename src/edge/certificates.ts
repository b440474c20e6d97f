import { createPrivateKey, X509Certificate } from "node:crypto";
import { createSecureContext, type SecureContext } from "node:tls";

/** The TLS settings every certificate of a listener is served with. */
export interface TlsSettings {
  readonly minVersion: "TLSv1.2" | "TLSv1.3";
  /** OpenSSL cipher list for TLS 1.2 (TLS 1.3's suites are all strong and left to OpenSSL). */
  readonly ciphers: string;
}

/** A certificate and its key as PEM text, with the paths they were read from (for messages). */
export interface PemPair {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
}

/** A certificate ready to serve: its context, the names it answers for, and when it expires. */
export interface LoadedCertificate {
  readonly context: SecureContext;
  /** What `context` was made from: a TLS server's default context is set from these. */
  readonly contextOptions: { readonly cert: string; readonly key: string; readonly minVersion: TlsSettings["minVersion"]; readonly ciphers: string };
  /** DNS names (lower case, wildcards as `*.example.com`) from subjectAltName, else the subject's CN. */
  readonly names: readonly string[];
  /** The first name, or the certificate path: how metrics and logs name it. */
  readonly label: string;
  /** `notAfter`, in ms since the epoch. */
  readonly notAfter: number;
  readonly fingerprint: string;
}

/** A certificate that cannot be served, and why (names the file). */
export class CertificateError extends Error {
  override name = "CertificateError";
}

/** The DNS names a certificate is valid for: its subjectAltName DNS entries, else its subject's CN. */
export function certificateNames(x509: X509Certificate): string[] {
  const alt = x509.subjectAltName;
  const names = alt
    ? alt.split(",").map((s) => s.trim()).filter((s) => s.startsWith("DNS:")).map((s) => s.slice(4).toLowerCase())
    : [];
  if (names.length > 0) return names;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

/**
 * Parses and checks a pair: the certificate must parse, the key must parse and belong to it.
 * @throws CertificateError naming the file and the fault.
 */
export function loadCertificate(pair: PemPair, settings: TlsSettings): LoadedCertificate {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pair.cert);
  } catch (error) {
    throw new CertificateError(`${pair.certPath}: not a PEM certificate (${(error as Error).message})`);
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(pair.key));
  } catch (error) {
    throw new CertificateError(`${pair.keyPath}: not a PEM private key (${(error as Error).message})`);
  }
  if (!matches) throw new CertificateError(`${pair.keyPath} is not the key of ${pair.certPath} (they belong to different pairs)`);
  let context: SecureContext;
  const contextOptions = { cert: pair.cert, key: pair.key, minVersion: settings.minVersion, ciphers: settings.ciphers };
  try {
    context = createSecureContext(contextOptions);
  } catch (error) {
    throw new CertificateError(`${pair.certPath}: OpenSSL refused the pair (${(error as Error).message})`);
  }
  const names = certificateNames(x509);
  return { context, contextOptions, names, label: names[0] ?? pair.certPath, notAfter: Date.parse(x509.validTo), fingerprint: x509.fingerprint256 };
}

/** Whether `pattern` (a certificate name, `*.` wildcards for one label) covers the SNI `name`. */
export function nameMatches(pattern: string, name: string): boolean {
  if (!pattern.startsWith("*.")) return pattern === name;
  const dot = name.indexOf(".");
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}

/**
 * A listener's certificates: the default (for clients that send no SNI, or a name none covers) and the
 * others, chosen by the SNI name: an exact name first, then a wildcard.
 */
export class CertificateSet {
  readonly #exact = new Map<string, LoadedCertificate>();
  readonly #wildcards: Array<[suffix: string, certificate: LoadedCertificate]> = [];
  /** The first certificate: the default. */
  readonly fallback: LoadedCertificate;

  /** `all` holds at least one certificate; the first is the default. */
  constructor(readonly all: readonly [LoadedCertificate, ...LoadedCertificate[]]) {
    this.fallback = all[0];
    for (const certificate of all) {
      for (const name of certificate.names) {
        if (name.startsWith("*.")) this.#wildcards.push([name.slice(1), certificate]);
        else if (!this.#exact.has(name)) this.#exact.set(name, certificate);
      }
    }
  }

  /** The certificate to answer a ClientHello for `servername` with. */
  select(servername: string | undefined): LoadedCertificate {
    if (!servername) return this.fallback;
    const name = servername.toLowerCase();
    const exact = this.#exact.get(name);
    if (exact) return exact;
    const dot = name.indexOf(".");
    if (dot > 0) {
      const suffix = name.slice(dot);
      for (const [wildcard, certificate] of this.#wildcards) if (wildcard === suffix) return certificate;
    }
    return this.fallback;
  }
}
