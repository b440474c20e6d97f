import { mkdtempSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pino } from "pino";
import type { StranglerConfigInput } from "../../src/config/schema.ts";
import { startStrangler, type Strangler, type StranglerOptions } from "../../src/strangler.ts";

/** Writes a config as a TypeScript module, as a user would, and returns its path. */
export function writeConfig(dir: string, config: StranglerConfigInput, name = "routes.config.ts"): string {
  const path = join(dir, name);
  writeFileSync(path, `export default ${JSON.stringify(config, null, 2)};\n`);
  return path;
}

/**
 * Starts a real proxy in this process on free ports, with logs off. Its SQLite file goes in a fresh
 * directory beside the config unless `options.dataDir` names one (to share it, or to restart on it).
 */
export function startTestProxy(configPath: string, options: Partial<StranglerOptions> = {}): Promise<Strangler> {
  return startStrangler({
    configPath,
    port: 0,
    host: "127.0.0.1",
    adminPort: 0,
    watch: false,
    logger: pino({ level: "silent" }),
    dataDir: options.dataDir ?? mkdtempSync(join(dirname(configPath), "data-")),
    ...options,
  });
}
