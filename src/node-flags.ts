/**
 * The Node/V8 flags the proxy runs with: in package.json's `start`, the Dockerfile's CMD, the demo and
 * the bench (test/unit/node-flags.test.ts keeps them the same). Flags, not config keys: V8 reads them
 * when the process starts, before any config file is loaded.
 *
 * `--initial-old-space-size=128`: a floor of 128 MiB under V8's old-generation limit, below which it
 * skips full collections. Why a proxy needs one: every socket read is a fresh ArrayBuffer, counted as
 * external memory, and at hundreds of MB/s of bodies some of them are still in flight at two young
 * collections and are promoted. V8 counts the external memory promoted since its last full collection
 * against a limit it sets at about twice the live heap (~70 MB here), so with 1 MB shadowed answers it
 * marked the whole live heap (~35 MB) every 100–300 ms, a third of that process's CPU. With the floor it
 * collects when 64 MB of external memory has piled up (about once a second there), the same garbage in
 * fewer, equally long passes. The cost is the garbage kept meanwhile: up to 128 MiB of old generation
 * instead of ~70 MB (peak RSS in `npm run bench` moved by 0–50 MB). See the README's Performance section.
 */
export const NODE_FLAGS: readonly string[] = ["--initial-old-space-size=128"];
