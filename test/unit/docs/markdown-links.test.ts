import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { brokenLinks, headingAnchors } from "../../../scripts/docs/markdown-links.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";

describe("the Markdown link check", () => {
  const temp = makeTempDir();
  afterAll(() => temp.remove());

  it("makes GitHub's anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered, code and links as their text", () => {
    const anchors = headingAnchors(
      ["# Two commands", "## At the edge: TLS, HTTP/2, trusted proxies", "### `npm run bench`", "## Two commands", "## [Links](x.md) and *emphasis*", "```", "# not a heading", "```"].join("\n"),
    );
    expect([...anchors]).toEqual(["two-commands", "at-the-edge-tls-http2-trusted-proxies", "npm-run-bench", "two-commands-1", "links-and-emphasis"]);
  });

  it("finds a missing file, a missing anchor and an anchor into a non-Markdown file; ignores external links and code", () => {
    const root = join(temp.dir, "planted");
    mkdirSync(join(root, "docs"), { recursive: true });
    writeFileSync(join(root, "docs", "page.md"), "# A page\n\n## Its section\n");
    writeFileSync(join(root, "docs", "picture.png"), "");
    writeFileSync(
      join(root, "README.md"),
      [
        "# Front",
        "[fine](docs/page.md#its-section) [also fine](#front) ![picture](docs/picture.png) [web](https://example.com/x#y)",
        "[gone](docs/missing.md)",
        "[no such section](docs/page.md#nowhere)",
        "[anchor in a picture](docs/picture.png#top)",
        "`[in code](nowhere.md)`",
        "```",
        "[in a block](nowhere.md)",
        "```",
        "[ref]: docs/absent.md",
      ].join("\n"),
    );
    expect(brokenLinks(root).map(({ line, target }) => `${line} ${target}`)).toEqual(["3 docs/missing.md", "4 docs/page.md#nowhere", "5 docs/picture.png#top", "10 docs/absent.md"]);
  });

  it("no relative link or anchor in the repository's Markdown points nowhere", () => {
    const root = fileURLToPath(new URL("../../..", import.meta.url));
    expect(brokenLinks(root)).toEqual([]);
  });
});
