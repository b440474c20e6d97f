import { lowerCasedHeaderName } from "./header-names.ts";

/**
 * An answer's head kept as undici gave it (name and value Buffers, in order), a value made a string only
 * when it is asked for.
 *
 * A shadowed pair's heads are read for a handful of headers (the compared ones, `content-length`,
 * `content-encoding`); made into objects, each head cost a string per value, a lower-cased name per
 * field and a megamorphic keyed store per field, and each lookup a keyed load (callgrind: ~6k
 * instructions a shadowed request). Kept raw, a lookup walks a few interned names by identity.
 *
 * The Buffers are views on the socket's read, which undici never reuses, so holding them is safe; they
 * are held until the comparison ends, as the captured bodies are.
 */
export class RawHead {
  #names: readonly string[] | undefined;

  /** `names`, when the caller already lower-cased the head's names (one per pair, in order). */
  constructor(
    private readonly raw: readonly Buffer[],
    names?: readonly string[],
  ) {
    this.#names = names;
  }

  /** The named field's value (`name` lower-case), a repeated field's values joined by ", "; undefined when absent. */
  get(name: string): string | undefined {
    const names = (this.#names ??= namesOf(this.raw));
    let value: string | undefined;
    for (let i = 0; i < names.length; i++) {
      if (names[i] !== name) continue;
      const one = (this.raw[2 * i + 1] as Buffer).toString("latin1");
      value = value === undefined ? one : `${value}, ${one}`;
    }
    return value;
  }

  /** The whole head as an object, as undici parses one (for a comparison sent to the worker). */
  toRecord(): Record<string, string | string[]> {
    return parseRawHeaders(this.raw);
  }
}

/** A raw head as an object (names lower-cased, a repeated name's values in an array), as undici parses one. */
export function parseRawHeaders(raw: readonly Buffer[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = lowerCasedHeaderName(raw[i] as Buffer);
    const value = (raw[i + 1] as Buffer).toString("latin1");
    const existing = out[name];
    out[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return out;
}

function namesOf(raw: readonly Buffer[]): string[] {
  const names: string[] = [];
  for (let i = 0; i < raw.length; i += 2) names.push(lowerCasedHeaderName(raw[i] as Buffer));
  return names;
}
