/**
 * The shell blocks of the Markdown pages: every fenced block tagged `sh`, `bash` or `shell` is a command a
 * reader will paste, and the docs-commands test runs it against the demo. A block that cannot run there
 * on purpose (it builds an image, starts a long-lived server, installs) is marked on the line above its
 * fence with `<!-- not run: why -->`; the reason is required, so the skip says what covers it instead.
 * A block written for the fleet demo is marked `<!-- run against: npm run demo:fleet -->`.
 */

/** One fenced shell block of a Markdown page. */
export interface ShellBlock {
  /** The page, relative to the repository's root. */
  readonly file: string;
  /** The line of the opening fence (1-based). */
  readonly line: number;
  readonly script: string;
  /** Why the block is not run, from its `<!-- not run: why -->` marker; undefined when it is run. */
  readonly notRun?: string;
  /** The demo the block is written for: `npm run demo`, or `npm run demo:fleet` when so marked. */
  readonly against: "demo" | "demo:fleet";
}

const SHELL_LANGUAGES = new Set(["sh", "bash", "shell"]);
const NOT_RUN_MARKER = /^<!--\s*not run:\s*(\S.*?)\s*-->$/;
const FLEET_MARKER = /^<!--\s*run against:\s*npm run demo:fleet\s*-->$/;

/** The shell blocks of one page, in the order a reader meets them. */
export function shellBlocks(file: string, markdown: string): ShellBlock[] {
  const lines = markdown.split("\n");
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(```|~~~)\s*([\w-]*)/.exec(lines[i] as string);
    if (!open) continue;
    const fence = open[2] as string;
    const language = (open[3] as string).toLowerCase();
    let end = i + 1;
    while (end < lines.length && !(lines[end] as string).trimStart().startsWith(fence)) end++;
    if (SHELL_LANGUAGES.has(language)) {
      const above = (lines[i - 1] ?? "").trim();
      const marker = NOT_RUN_MARKER.exec(above);
      const indent = (open[1] as string).length;
      const script = lines
        .slice(i + 1, end)
        .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
        .join("\n");
      const against = FLEET_MARKER.test(above) ? "demo:fleet" : "demo";
      blocks.push({ file, line: i + 1, script, against, ...(marker ? { notRun: marker[1] as string } : {}) });
    }
    i = end;
  }
  return blocks;
}

/** The demo's fixed addresses as the pages write them, and the ones a run on free ports answers on. */
export interface DemoAddresses {
  /** Default port (as written in the page) → the port the running demo listens on. */
  readonly ports: ReadonlyMap<number, number>;
}

/**
 * The script with the demo's default ports rewritten to the running demo's: `127.0.0.1:8080` (and
 * `localhost:8080`) become the free ports the test's demo took, so the block runs beside other tests.
 */
export function onDemoPorts(script: string, addresses: DemoAddresses): string {
  return script.replace(/\b(127\.0\.0\.1|localhost):(\d{2,5})\b/g, (_whole, host: string, port: string) => {
    const actual = addresses.ports.get(Number(port));
    // A loopback address the demo does not serve would send the command nowhere: say so, do not run it.
    if (actual === undefined) throw new Error(`${host}:${port} is not one of the demo's addresses (${[...addresses.ports.keys()].join(", ")})`);
    return `${host}:${actual}`;
  });
}
