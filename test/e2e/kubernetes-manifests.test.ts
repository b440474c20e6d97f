import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadConfigFile } from "../../src/config/load-config.ts";
import { startStrangler } from "../../src/strangler.ts";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { createThrowawayCa } from "../helpers/tls.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DIR = join(ROOT, "deploy", "kubernetes");

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}
interface Container {
  name: string;
  ports: Array<{ name: string; containerPort: number }>;
  env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>;
  volumeMounts: Array<{ name: string; mountPath: string; subPath?: string }>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  startupProbe?: { httpGet: { path: string; port: string } };
  lifecycle?: { preStop?: { exec: { command: string[] } } };
  resources: { requests: { cpu: string; memory: string } };
}

/** Every manifest the kustomization lists, parsed: each document, by kind and name. */
function load(): Doc[] {
  const kustomization = parseAllDocuments(readFileSync(join(DIR, "kustomization.yaml"), "utf8"))[0]?.toJS() as { resources: string[] };
  return kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), "utf8")).map((d) => {
      expect(d.errors, file).toEqual([]);
      return d.toJS() as Doc;
    }),
  );
}

/**
 * The Kubernetes manifests checked as a cluster would use them: every document parses and names its
 * kind; every name one object gives another (Secret keys, ConfigMap keys, port names, selectors) exists;
 * the probes ask endpoints the proxy answers, on the port the image exposes; the routes file validates.
 */
describe("deploy/kubernetes", () => {
  const docs = load();
  const one = (kind: string, name?: string) => {
    const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
    expect(found.length, `${kind} ${name ?? ""}`).toBeGreaterThanOrEqual(1);
    return found[0] as Doc;
  };
  const deployment = one("Deployment") as Doc & {
    spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: { terminationGracePeriodSeconds: number; containers: Container[]; volumes: Array<{ name: string; configMap?: { name: string }; emptyDir?: object; secret?: { secretName: string } }> } } };
  };
  const pod = deployment.spec.template;
  const container = pod.spec.containers[0] as Container;
  const temp = makeTempDir();
  afterAll(() => temp.remove());

  it("has the kinds a deployment needs, each document with apiVersion, kind and name", () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(["ConfigMap", "Deployment", "PodDisruptionBudget", "Secret", "Secret", "Service", "Service"]);
    for (const d of docs) expect([d.apiVersion, d.kind, d.metadata.name].every((v) => typeof v === "string" && v.length > 0)).toBe(true);
  });

  it("runs at least two replicas, selected by the labels the pods carry, with resource requests", () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) expect(pod.metadata.labels[k]).toBe(v);
    expect(container.resources.requests.cpu).toBeTruthy();
    expect(container.resources.requests.memory).toBeTruthy();
  });

  it("exposes the image's ports by name, and every Service and the PDB select the pods and name real ports", () => {
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    const exposed = /\nEXPOSE ([\d ]+)/.exec(dockerfile)?.[1]?.trim().split(/\s+/).map(Number);
    expect(container.ports.map((p) => p.containerPort).sort()).toEqual([...(exposed ?? [])].sort());
    const names = new Set(container.ports.map((p) => p.name));
    for (const service of docs.filter((d) => d.kind === "Service") as Array<Doc & { spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> } }>) {
      for (const [k, v] of Object.entries(service.spec.selector)) expect(pod.metadata.labels[k], service.metadata.name).toBe(v);
      for (const port of service.spec.ports) expect(names.has(port.targetPort), `${service.metadata.name} → ${port.targetPort}`).toBe(true);
    }
    const pdb = one("PodDisruptionBudget") as Doc & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) expect(pod.metadata.labels[k]).toBe(v);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    const admin = container.ports.find((p) => p.name === "admin")?.containerPort;
    expect(pod.metadata.annotations["prometheus.io/port"]).toBe(String(admin));
  });

  it("takes the token and DATABASE_URL from the Secret, and the routes file from the ConfigMap, by names that exist", () => {
    const secret = one("Secret", "strangler-fig") as Doc & { stringData: Record<string, string> };
    for (const e of container.env.filter((e) => e.valueFrom)) {
      const ref = e.valueFrom?.secretKeyRef as { name: string; key: string };
      expect(ref.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData)).toContain(ref.key);
    }
    expect(container.env.map((e) => e.name)).toEqual(expect.arrayContaining(["STRANGLER_ADMIN_TOKEN", "DATABASE_URL", "ADMIN_HOST"]));
    const mount = container.volumeMounts.find((m) => m.mountPath === container.env.find((e) => e.name === "CONFIG")?.value) as { name: string; subPath: string };
    const volume = pod.spec.volumes.find((v) => v.name === mount.name);
    const configMap = one("ConfigMap", volume?.configMap?.name) as Doc & { data: Record<string, string> };
    expect(Object.keys(configMap.data)).toContain(mount.subPath);
  });

  it("the ConfigMap's routes file validates; the probes' paths answer on the admin port of a proxy started with it", async () => {
    const configMap = one("ConfigMap") as Doc & { data: Record<string, string> };
    const file = join(temp.dir, "routes.config.ts");
    writeFileSync(file, configMap.data["routes.config.ts"] as string);
    const config = await loadConfigFile(file);
    expect(config.routes.length).toBeGreaterThan(0);
    const proxy = await startStrangler({ configPath: file, port: 0, host: "127.0.0.1", adminPort: 0, dataDir: join(temp.dir, "data"), watch: false, logger: pino({ level: "silent" }) });
    try {
      for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
        expect(probe?.httpGet.port).toBe("admin");
        expect((await fetch(`${proxy.adminUrl}${probe?.httpGet.path}`)).status, probe?.httpGet.path).toBe(200);
      }
    } finally {
      await proxy.close();
    }
  });

  it("gives a pod time to drain: the grace period covers the preStop pause and the proxy's shutdown grace", async () => {
    const configMap = one("ConfigMap") as Doc & { data: Record<string, string> };
    const file = join(temp.dir, "grace.config.ts");
    writeFileSync(file, configMap.data["routes.config.ts"] as string);
    const graceMs = (await loadConfigFile(file)).server.shutdownGraceMs;
    const pause = Number(container.lifecycle?.preStop?.exec.command.at(-1));
    expect(pause).toBeGreaterThan(0);
    expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(pause * 1000 + graceMs);
  });

  it("mounts the certificate from a kubernetes.io/tls Secret where TLS_CERT and TLS_KEY point; with them the ConfigMap's routes file serves HTTPS and HTTP/2", async () => {
    const env = (name: string) => container.env.find((e) => e.name === name)?.value as string;
    const mount = container.volumeMounts.find((m) => env("TLS_CERT").startsWith(`${m.mountPath}/`)) as { name: string; mountPath: string };
    expect(mount, "a volume mounted where TLS_CERT points").toBeDefined();
    expect(env("TLS_KEY").startsWith(`${mount.mountPath}/`)).toBe(true);
    const volume = pod.spec.volumes.find((v) => v.name === mount.name);
    const secret = one("Secret", volume?.secret?.secretName) as Doc & { type: string; stringData: Record<string, string> };
    expect(secret.type).toBe("kubernetes.io/tls");
    expect(Object.keys(secret.stringData).sort()).toEqual([env("TLS_CERT"), env("TLS_KEY")].map((p) => p.slice(mount.mountPath.length + 1)).sort());
    const service = docs.find((d) => d.kind === "Service" && d.metadata.name === "strangler-fig") as Doc & { spec: { ports: Array<{ port: number; targetPort: string }> } };
    expect(service.spec.ports).toEqual([expect.objectContaining({ port: 443, targetPort: "https" })]);

    // The files laid out as a Secret volume is (tls.crt -> ..data/tls.crt), and the routes file started with them.
    const volumeDir = join(temp.dir, "secret-volume");
    mkdirSync(join(volumeDir, "..2026_12_06"), { recursive: true });
    const pair = createThrowawayCa().issue(["127.0.0.1"]);
    writeFileSync(join(volumeDir, "..2026_12_06", "tls.crt"), pair.cert);
    writeFileSync(join(volumeDir, "..2026_12_06", "tls.key"), pair.key);
    symlinkSync("..2026_12_06", join(volumeDir, "..data"));
    symlinkSync("..data/tls.crt", join(volumeDir, "tls.crt"));
    symlinkSync("..data/tls.key", join(volumeDir, "tls.key"));
    const configMap = one("ConfigMap") as Doc & { data: Record<string, string> };
    const file = join(temp.dir, "tls-routes.config.ts");
    writeFileSync(file, configMap.data["routes.config.ts"] as string);
    const saved = { cert: process.env.TLS_CERT, key: process.env.TLS_KEY };
    process.env.TLS_CERT = join(volumeDir, "tls.crt");
    process.env.TLS_KEY = join(volumeDir, "tls.key");
    try {
      const proxy = await startStrangler({ configPath: file, port: 0, host: "127.0.0.1", adminPort: 0, dataDir: join(temp.dir, "tls-data"), watch: false, logger: pino({ level: "silent" }) });
      try {
        expect(proxy.url).toMatch(/^https:/);
        expect((await fetch(`${proxy.adminUrl}/readyz`)).status).toBe(200);
        const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
        expect(metrics).toMatch(/strangler_tls_certificate_expiry_seconds\{listener="data",certificate="127.0.0.1"\} \d+/);
      } finally {
        await proxy.close();
      }
    } finally {
      for (const [name, value] of [["TLS_CERT", saved.cert], ["TLS_KEY", saved.key]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

