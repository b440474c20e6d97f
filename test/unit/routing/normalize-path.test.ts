import { describe, expect, it } from "vitest";
import { normalizeRequestTarget } from "../../../src/routing/normalize-path.ts";

function pathOf(target: string): string {
  const result = normalizeRequestTarget(target);
  if (!result.ok) throw new Error(`refused: ${result.reason}`);
  return result.query ? `${result.path}?${result.query}` : result.path;
}

function reasonOf(target: string): string {
  const result = normalizeRequestTarget(target);
  if (result.ok) throw new Error(`accepted as ${result.path}`);
  return result.reason;
}

describe("normalizeRequestTarget", () => {
  it.each([
    ["/api/products", "/api/products"],
    ["/", "/"],
    ["/api/products?x=1&y=%2F", "/api/products?x=1&y=%2F"],
    ["/api/%70roducts", "/api/products"],
    ["/api/products/%7e%41", "/api/products/~A"],
    ["/api/a%2cb", "/api/a%2Cb"],
    ["/api/a%20b", "/api/a%20b"],
    ["/api/./products", "/api/products"],
    ["/api/x/../products", "/api/products"],
    ["/api/x/%2e%2e/products", "/api/products"],
    ["/api/x/%2E%2e/products", "/api/products"],
    ["/api/products/.", "/api/products/"],
    ["/api/products/x/..", "/api/products/"],
    ["/a/..", "/"],
    ["http://example.com/api/products?q=1", "/api/products?q=1"],
    ["http://example.com", "/"],
    ["/api//products", "/api//products"],
  ])("%s reads as %s", (target, expected) => {
    expect(pathOf(target)).toBe(expected);
  });

  it.each([
    ["/..", "dot-segments climb above the root"],
    ["/api/../../etc/passwd", "dot-segments climb above the root"],
    ["/%2e%2e/admin", "dot-segments climb above the root"],
    ["/api/products%2f1", "encoded slash or backslash in path"],
    ["/api/products%2F1", "encoded slash or backslash in path"],
    ["/api/products%5c1", "encoded slash or backslash in path"],
    ["/api\\products", "backslash in path"],
    ["/api/products%00", "encoded NUL in path"],
    ["/api/products%zz", "invalid percent-encoding at offset 13"],
    ["/api/products%4", "invalid percent-encoding at offset 13"],
    ["/api/caf\u00e9", "control, space or non-ASCII character in path"],
    ["/api/products#frag", "fragment in request target"],
    ["*", 'request target must be a path starting with "/"'],
    ["api/products", 'request target must be a path starting with "/"'],
  ])("%s is refused: %s", (target, reason) => {
    expect(reasonOf(target)).toBe(reason);
  });
});
