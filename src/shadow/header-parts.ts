/**
 * Headers made of parts, compared part by part so that noise in one part (a cursor in `Link`'s
 * `rel="next"`, a session cookie's value, an `Expires` date) is learned there alone, while a part that
 * goes missing (`rel="first"`, a cookie, `HttpOnly`, `no-store`) is still found.
 *
 * Each part has a stable name, the difference's path: `header:link;rel=next`,
 * `header:set-cookie;session` (the cookie's value) and `header:set-cookie;session;httponly` (each
 * attribute), `header:cache-control;max-age`.
 */

/** The headers compared by part, and how each is split into named parts. */
const SPLITTERS: ReadonlyMap<string, (values: readonly string[]) => Map<string, string>> = new Map([
  ["link", linkParts],
  ["set-cookie", cookieParts],
  ["cache-control", directiveParts],
]);

/** Whether `name` (lower-case) is compared part by part. */
export function hasParts(name: string): boolean {
  return SPLITTERS.has(name);
}

/** The named parts of a header's values (each value of a repeated field, as sent); empty when absent. */
export function headerParts(name: string, values: readonly string[]): Map<string, string> {
  const split = SPLITTERS.get(name);
  return split ? split(values) : new Map();
}

/** Splits at `separator` outside `<…>` and double quotes. */
function splitOutside(text: string, separator: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && text[i - 1] !== "\\") quoted = !quoted;
    else if (!quoted && c === "<") depth++;
    else if (!quoted && c === ">") depth = Math.max(0, depth - 1);
    else if (!quoted && depth === 0 && c === separator) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((p) => p.trim()).filter((p) => p !== "");
}

const unquote = (v: string): string => (v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v);

/** `<url>; rel="next"; title="x", <url2>; rel=first` → `rel=next` → `<url>; title="x"`, `rel=first` → `<url2>`. */
function linkParts(values: readonly string[]): Map<string, string> {
  const parts = new Map<string, string>();
  for (const value of values) {
    for (const link of splitOutside(value, ",")) {
      const [target = "", ...params] = splitOutside(link, ";");
      let rel: string | undefined;
      const rest = [target];
      for (const param of params) {
        const eq = param.indexOf("=");
        const key = (eq === -1 ? param : param.slice(0, eq)).trim().toLowerCase();
        if (key === "rel" && eq !== -1) rel = unquote(param.slice(eq + 1).trim()).toLowerCase().split(/\s+/).sort().join(" ");
        else rest.push(param);
      }
      // A link without a rel is named by its target.
      let name = rel === undefined ? `link=${target}` : `rel=${rel}`;
      // Two links with the same rel (rare): the second is told apart by its place.
      for (let n = 2; parts.has(name); n++) name = `${name.replace(/#\d+$/, "")}#${n}`;
      parts.set(name, rest.join("; "));
    }
  }
  return parts;
}

/** `session=abc; Path=/; HttpOnly` → `session` → `abc`, `session;path` → `/`, `session;httponly` → ``. */
function cookieParts(values: readonly string[]): Map<string, string> {
  const parts = new Map<string, string>();
  for (const value of values) {
    const [pair = "", ...attributes] = value.split(";").map((p) => p.trim());
    const eq = pair.indexOf("=");
    const name = (eq === -1 ? pair : pair.slice(0, eq)).trim();
    parts.set(name, eq === -1 ? "" : pair.slice(eq + 1).trim());
    for (const attribute of attributes) {
      if (attribute === "") continue;
      const at = attribute.indexOf("=");
      parts.set(`${name};${(at === -1 ? attribute : attribute.slice(0, at)).trim().toLowerCase()}`, at === -1 ? "" : attribute.slice(at + 1).trim());
    }
  }
  return parts;
}

/** `public, max-age=60, no-transform` → `public` → ``, `max-age` → `60`, `no-transform` → ``. */
function directiveParts(values: readonly string[]): Map<string, string> {
  const parts = new Map<string, string>();
  for (const value of values) {
    for (const directive of splitOutside(value, ",")) {
      const eq = directive.indexOf("=");
      parts.set((eq === -1 ? directive : directive.slice(0, eq)).trim().toLowerCase(), eq === -1 ? "" : unquote(directive.slice(eq + 1).trim()));
    }
  }
  return parts;
}
