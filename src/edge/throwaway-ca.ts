import { generateKeyPairSync, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import forge from "node-forge";

/** A certificate and its key, PEM. */
export interface PemCertificate {
  readonly cert: string;
  readonly key: string;
}

/** A certificate authority made on the spot, to try TLS without a real one (the demo's `--tls`, the tests). */
export interface ThrowawayCa extends PemCertificate {
  /**
   * A server certificate for `names` (DNS names, `*.` wildcards, or IP addresses), signed by this CA,
   * valid from a minute ago for `validDays` (default 30).
   */
  issue(names: readonly string[], options?: { readonly validDays?: number; readonly notAfter?: Date }): PemCertificate;
}

/** An RSA 2048 key pair made by Node (native, fast), in forge's form and as PEM. */
function rsaKeys(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  return { privateKey: forge.pki.privateKeyFromPem(privateKey), publicKey: forge.pki.publicKeyFromPem(publicKey), pem: privateKey };
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f; // a positive serial number
  return bytes.toString("hex");
}

/**
 * Makes a certificate authority that exists only in memory. Trust its `cert` in the client (a CA file
 * for curl or Node, an NSS database for Chromium) and serve certificates it `issue`s.
 */
export function createThrowawayCa(commonName = "strangler-fig throwaway CA"): ThrowawayCa {
  const caKeys = rsaKeys();
  const caName = [{ name: "commonName", value: commonName }, { name: "organizationName", value: "strangler-fig" }];
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serial();
  ca.validity.notBefore = new Date(Date.now() - 60_000);
  ca.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());
  const caPem = forge.pki.certificateToPem(ca);
  return {
    cert: caPem,
    key: caKeys.pem,
    issue(names, options = {}) {
      const keys = rsaKeys();
      const cert = forge.pki.createCertificate();
      cert.publicKey = keys.publicKey;
      cert.serialNumber = serial();
      cert.validity.notBefore = new Date(Date.now() - 60_000);
      cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + (options.validDays ?? 30) * 86_400_000);
      cert.setSubject([{ name: "commonName", value: names[0] ?? "localhost" }]);
      cert.setIssuer(ca.subject.attributes);
      cert.setExtensions([
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
        { name: "subjectKeyIdentifier" },
        { name: "authorityKeyIdentifier", keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
      ]);
      cert.sign(caKeys.privateKey, forge.md.sha256.create());
      return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
    },
  };
}
