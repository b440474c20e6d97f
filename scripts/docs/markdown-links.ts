import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** A relative link or anchor in a Markdown file that points nowhere. */
export interface BrokenLink {
  /** The file the link is in, relative to the root. */
  readonly file: string;
  readonly line: number;
  readonly target: string;
  readonly why: string;
}

/** Directories never read for Markdown: dependencies, build output, run results. */
const SKIPPED_DIRECTORIES = new Set(["node_modules", "dist", ".git", "coverage", "reports", ".stryker-tmp"]);

/** Every Markdown file under `root` (paths relative to it), outside the skipped directories. */
export function markdownFiles(root: string, under = "."): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(root, under), { withFileTypes: true })) {
    const path = under === "." ? entry.name : `${under}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRECTORIES.has(entry.name)) files.push(...markdownFiles(root, path));
    } else if (entry.name.endsWith(".md")) files.push(path);
  }
  return files.sort();
}

/** The text with its fenced code blocks blanked, lines kept (so line numbers stay true). */
function withoutFences(text: string): string {
  let fence: string | undefined;
  return text
    .split("\n")
    .map((line) => {
      const marker = /^\s*(```|~~~)/.exec(line)?.[1];
      if (fence !== undefined) {
        if (marker === fence) fence = undefined;
        return "";
      }
      if (marker !== undefined) fence = marker;
      return marker !== undefined ? "" : line;
    })
    .join("\n");
}

/** Fenced blocks and inline code blanked: a link in code is an example, not a link. */
function withoutCode(text: string): string {
  return withoutFences(text).replace(/`[^`\n]*`/g, (code) => " ".repeat(code.length));
}

/**
 * GitHub's anchor for a heading: lower-cased, every character but letters, digits, spaces, `-` and `_`
 * dropped, spaces made `-`; a repeated heading gets `-1`, `-2`… (github-slugger's rule). Markup is read
 * as its text first: a link as its words, code without its backticks, emphasis without its marks.
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown).split("\n")) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = (heading[1] as string).replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/[`*]/g, "");
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  // Explicit anchors (`<a id="…">` or `name="…"`) count too.
  for (const match of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1] as string);
  return anchors;
}

/** Every relative link and anchor in the Markdown files under `root` that points nowhere. */
export function brokenLinks(root: string): BrokenLink[] {
  const broken: BrokenLink[] = [];
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = (path: string): Set<string> => {
    let known = anchorsOf.get(path);
    if (!known) anchorsOf.set(path, (known = headingAnchors(readFileSync(path, "utf8"))));
    return known;
  };
  for (const file of markdownFiles(root)) {
    const path = resolve(root, file);
    const lines = withoutCode(readFileSync(path, "utf8")).split("\n");
    lines.forEach((text, index) => {
      // Inline links and images: [text](target "title"); reference definitions: [name]: target.
      const targets = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] as string);
      const definition = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(text);
      if (definition) targets.push(definition[1] as string);
      for (const target of targets) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:… : not checked offline
        const hash = target.indexOf("#");
        const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
        const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
        const linked = pathPart === "" ? path : resolve(dirname(path), pathPart);
        const where = { file, line: index + 1, target };
        if (!existsSync(linked)) {
          broken.push({ ...where, why: `${relative(root, linked)} does not exist` });
          continue;
        }
        if (anchor === undefined || anchor === "") continue;
        if (statSync(linked).isDirectory() || !linked.endsWith(".md")) {
          broken.push({ ...where, why: `an anchor into ${relative(root, linked)}, which is not a Markdown file` });
          continue;
        }
        if (!anchors(linked).has(anchor)) broken.push({ ...where, why: `no heading in ${relative(root, linked)} has the anchor #${anchor}` });
      }
    });
  }
  return broken;
}
