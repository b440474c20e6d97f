import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { CertificateError, CertificateSet, loadCertificate, type LoadedCertificate, type TlsSettings } from "./certificates.ts";

/** Where a listener's certificates are: the default pair first, then those chosen by SNI. */
export interface CertificateFiles {
  /** The config key of the listener's TLS block (`server.tls`, `admin.tls`): where messages point. */
  readonly key: string;
  readonly pairs: ReadonlyArray<{ readonly cert: string; readonly key: string }>;
  readonly settings: TlsSettings;
}

/** A TLS block of the config, as written (`cert`/`key` and optional `certificates`). */
export interface TlsBlock {
  readonly cert: string;
  readonly key: string;
  readonly certificates?: ReadonlyArray<{ readonly cert: string; readonly key: string }>;
  readonly minVersion: "TLSv1.2" | "TLSv1.3";
  readonly ciphers: string;
}

/** A TLS block's files, relative paths taken from the config file's folder. */
export function certificateFiles(key: string, block: TlsBlock, configPath: string): CertificateFiles {
  const base = dirname(configPath);
  const at = (path: string) => (isAbsolute(path) ? path : resolve(base, path));
  const pairs = [{ cert: block.cert, key: block.key }, ...(block.certificates ?? [])].map((p) => ({ cert: at(p.cert), key: at(p.key) }));
  return { key, pairs, settings: { minVersion: block.minVersion, ciphers: block.ciphers } };
}

/** The files' bytes as read now: what a reload compares to know whether anything changed. */
export interface CertificateSnapshot {
  readonly texts: readonly string[];
  readonly signature: string;
}

/** Reads every file of the listener; @throws CertificateError naming the file that cannot be read. */
export async function readCertificateFiles(files: CertificateFiles): Promise<CertificateSnapshot> {
  const texts: string[] = [];
  for (const [index, pair] of files.pairs.entries()) {
    for (const [field, path] of [["cert", pair.cert], ["key", pair.key]] as const) {
      try {
        texts.push(await readFile(path, "utf8"));
      } catch (error) {
        const where = index === 0 ? `${files.key}.${field}` : `${files.key}.certificates[${index - 1}].${field}`;
        throw new CertificateError(`${where}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
    }
  }
  return { texts, signature: texts.join("\u0000") };
}

/** Builds the listener's certificate set from a snapshot; @throws CertificateError naming the fault. */
export function certificateSetOf(files: CertificateFiles, snapshot: CertificateSnapshot): CertificateSet {
  const loaded = files.pairs.map((pair, index) => {
    try {
      return loadCertificate({ certPath: pair.cert, keyPath: pair.key, cert: snapshot.texts[index * 2] as string, key: snapshot.texts[index * 2 + 1] as string }, files.settings);
    } catch (error) {
      const where = index === 0 ? files.key : `${files.key}.certificates[${index - 1}]`;
      throw new CertificateError(`${where}: ${(error as Error).message}`);
    }
  });
  return new CertificateSet(loaded as [LoadedCertificate, ...LoadedCertificate[]]); // pairs starts with the default
}

/** Reads a listener's files and builds its set: what start-up serves first. @throws CertificateError naming the fault. */
export async function loadCertificateFiles(files: CertificateFiles): Promise<{ set: CertificateSet; snapshot: CertificateSnapshot }> {
  const snapshot = await readCertificateFiles(files);
  return { set: certificateSetOf(files, snapshot), snapshot };
}

/** Reads and checks a listener's certificates: the problems, one line each (empty when they serve). */
export async function certificateProblems(files: CertificateFiles): Promise<string[]> {
  try {
    await loadCertificateFiles(files);
    return [];
  } catch (error) {
    if (error instanceof CertificateError) return [error.message];
    throw error;
  }
}
