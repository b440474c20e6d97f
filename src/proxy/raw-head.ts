import { Buffer } from "node:buffer";
import { lowerCasedHeaderName, spellsLowerCase } from "./header-names.ts";

/** `find`'s answers besides a pair's index. */
const ABSENT = -1;
const REPEATED = -2;

/**
 * An answer's head kept as undici gave it (name and value Buffers, in order), read by name without
 * making a string of what is not asked for.
 *
 * A shadowed pair's heads are read for a handful of fields (the compared ones, `content-length`,
 * `content-encoding`). Made into objects, each head cost a string per value (a call into the Buffer
 * binding: ~800 instructions each under callgrind), a lower-cased name per field and a megamorphic
 * keyed store per field. Kept raw, a field is found by its name's length and bytes, and two heads' fields
 * are compared byte for byte (`sameAs`): a pair whose fields agree makes no string at all.
 *
 * The Buffers are views on the socket's read, which undici never reuses, so holding them is safe; they
 * are held until the comparison ends, as the captured bodies are.
 */
export class RawHead {
  /**
   * `names` and `values`, when the caller already made them (the primary's head, in the pass that builds
   * the client's): every field's lower-cased name and its value as a string, one per pair, in order.
   */
  constructor(
    private readonly raw: readonly Buffer[],
    private readonly names?: readonly string[],
    private readonly values?: readonly string[],
  ) {}

  /** The named field's value (`name` lower-case), a repeated field's values joined by ", "; undefined when absent. */
  get(name: string): string | undefined {
    const at = find(this.raw, this.names, name);
    if (at === ABSENT) return undefined;
    if (at !== REPEATED) return valueOf(this.raw, this.values, at);
    let joined: string | undefined;
    for (let pair = 0; pair * 2 < this.raw.length; pair++) {
      if (!named(this.raw, this.names, pair, name)) continue;
      const one = valueOf(this.raw, this.values, pair);
      joined = joined === undefined ? one : `${joined}, ${one}`;
    }
    return joined;
  }

  /** Each value of the named field (`name` lower-case), in order: for a field that must not be joined (`set-cookie`). */
  getAll(name: string): string[] {
    const out: string[] = [];
    for (let pair = 0; pair * 2 < this.raw.length; pair++) if (named(this.raw, this.names, pair, name)) out.push(valueOf(this.raw, this.values, pair));
    return out;
  }

  /**
   * The named field's value, as `get` reads it, but `previous` itself when the field's bytes spell it: no
   * new string (and no new hash of one) when, as on most routes, every answer carries the same value.
   */
  getReusing(name: string, previous: string | undefined): string | undefined {
    const at = find(this.raw, this.names, name);
    if (at >= 0 && previous !== undefined && this.values === undefined && spells(this.raw[2 * at + 1] as Buffer, previous)) return previous;
    return this.get(name);
  }

  /** Whether `name` (lower-case) reads the same in this head and in `other` (absent from both counts as the same). */
  sameAs(other: RawHead, name: string): boolean {
    const here = find(this.raw, this.names, name);
    const there = find(other.raw, other.names, name);
    if (here === ABSENT || there === ABSENT) return here === there;
    if (here === REPEATED || there === REPEATED) return this.get(name) === other.get(name);
    const mine = this.values?.[here];
    const theirs = other.values?.[there];
    if (mine !== undefined && theirs !== undefined) return mine === theirs;
    if (mine !== undefined) return spells(other.raw[2 * there + 1] as Buffer, mine);
    if (theirs !== undefined) return spells(this.raw[2 * here + 1] as Buffer, theirs);
    return sameBytes(this.raw[2 * here + 1] as Buffer, other.raw[2 * there + 1] as Buffer);
  }

  /** The Content-Length when there is exactly one and it is a plain number; 0 otherwise (it only sizes a capture). */
  contentLength(): number {
    const at = find(this.raw, this.names, "content-length");
    if (at < 0) return 0;
    const value = this.raw[2 * at + 1] as Buffer;
    let n = 0;
    for (let i = 0; i < value.length; i++) {
      const digit = (value[i] as number) - 48;
      if (digit < 0 || digit > 9) return 0;
      n = n * 10 + digit;
    }
    return n;
  }

  /** The whole head as an object, as undici parses one (for a comparison sent to the worker). */
  toRecord(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (let pair = 0; pair * 2 < this.raw.length; pair++) {
      const name = this.names?.[pair] ?? lowerCasedHeaderName(this.raw[2 * pair] as Buffer);
      const value = valueOf(this.raw, this.values, pair);
      const existing = out[name];
      out[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    }
    return out;
  }

}

// The lookups are functions of the head's lists rather than private methods: a private method's call
// checks the receiver's brand (a property load), per field scanned, which showed in the shadow's profile.

/** The pair index of the only field named `name`, or ABSENT, or REPEATED. */
function find(raw: readonly Buffer[], names: readonly string[] | undefined, name: string): number {
  let found = ABSENT;
  const pairs = raw.length >> 1;
  for (let pair = 0; pair < pairs; pair++) {
    if (!named(raw, names, pair, name)) continue;
    if (found !== ABSENT) return REPEATED;
    found = pair;
  }
  return found;
}

function named(raw: readonly Buffer[], names: readonly string[] | undefined, pair: number, name: string): boolean {
  return names !== undefined ? names[pair] === name : spellsLowerCase(raw[2 * pair] as Buffer, name);
}

function valueOf(raw: readonly Buffer[], values: readonly string[] | undefined, pair: number): string {
  return values?.[pair] ?? (raw[2 * pair + 1] as Buffer).toString("latin1");
}

/** Whether a raw value is `text`'s latin1 bytes (what `toString("latin1")` of it would equal). */
function spells(raw: Buffer, text: string): boolean {
  if (raw.length !== text.length) return false;
  for (let i = 0; i < raw.length; i++) if (raw[i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Two values' bytes compared in place: header values are short, and a call into the binding costs more. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  if (a.length > 64) return a.equals(b);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
