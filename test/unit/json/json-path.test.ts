import { describe, expect, it } from "vitest";
import { childPath, compilePathPatterns, isPathPattern, signaturePath } from "../../../src/json/json-path.ts";

describe("JSON paths as the comparer writes them", () => {
  it("writes an index in brackets, a simple key after a dot, any other key quoted in brackets", () => {
    expect(childPath("$", 3)).toBe("$[3]");
    expect(childPath("$.items", 0)).toBe("$.items[0]");
    expect(childPath("$", "price")).toBe("$.price");
    expect(childPath("$", "_$a1")).toBe("$._$a1");
    expect(childPath("$", "odd key")).toBe('$["odd key"]');
    expect(childPath("$", "1a")).toBe('$["1a"]');
    expect(childPath("$", 'say "hi"')).toBe('$["say \\"hi\\""]');
    // Every edge of the identifier rule: letters, digits after the first character, _ and $; nothing else.
    for (const simple of ["a", "Z", "_", "$", "aZ09_$", "z9", "A0"]) expect(childPath("$", simple), simple).toBe(`$.${simple}`);
    for (const quoted of ["", "0", "9a", "a-b", "a.b", "a[0]", "é", "a b", "@", "`", "{", "[", "/", ":"]) expect(childPath("$", quoted), quoted).toBe(`$[${JSON.stringify(quoted)}]`);
  });

  it("a signature path stands every index for [*]", () => {
    expect(signaturePath("$.items[3].tags[12]")).toBe("$.items[*].tags[*]");
    expect(signaturePath('$["a[1]"]')).toBe('$["a[*]"]'); // the comparer quotes such keys, and the rewrite is textual
    expect(signaturePath("$.items.price")).toBe("$.items.price");
    expect(signaturePath("$[0]")).toBe("$[*]");
  });
});

describe("path patterns", () => {
  it("accepts $ followed by dotted keys, [*], numeric indexes and quoted keys with escapes", () => {
    for (const valid of ["$", "$.a", "$.*", "$.a[*]", "$.a[12]", "$.a[3].b", '$["b c"]', '$["ab"]', '$["a\\"b"]', "$.*.updatedAt", "$._x$1"]) {
      expect(isPathPattern(valid), valid).toBe(true);
    }
  });

  it("refuses anything else", () => {
    for (const invalid of ["", "a.b", "$x", "$.", "$..a", "$[ab]", "$[1a]", "$[3", '$["open', "$.a b", "$.1a", '$["a"b"]', "$[]"]) {
      expect(isPathPattern(invalid), invalid).toBe(false);
    }
  });

  it("matches concrete and signature paths; * stands for any one key or index, at its depth only", () => {
    const matcher = compilePathPatterns(["$.*.updatedAt", "$.items[*].id", "$.meta"]);
    expect(matcher.matches("$.order.updatedAt")).toBe(true);
    expect(matcher.matches("$[4].updatedAt")).toBe(true);
    expect(matcher.matches("$.items[7].id")).toBe(true);
    expect(matcher.matches("$.items[*].id")).toBe(true);
    expect(matcher.matches("$.meta")).toBe(true);
    expect(matcher.matches("$.a.b.updatedAt")).toBe(false);
    expect(matcher.matches("$.updatedAt")).toBe(false);
    expect(matcher.matches("$.items[7].sku")).toBe(false);
    expect(matcher.matches("$.meta.page")).toBe(false);
  });

  it("a quoted step matches the same key written with a dot, and no other key", () => {
    const matcher = compilePathPatterns(['$.a["b"]']);
    expect(matcher.matches("$.a.b")).toBe(true);
    expect(matcher.matches("$.a.c")).toBe(false);
    expect(compilePathPatterns(['$["x"]']).matches("$.y")).toBe(false);
  });

  it("a [*] step matches a key as well as an index", () => {
    const matcher = compilePathPatterns(["$.a[*]"]);
    expect(matcher.matches("$.a[0]")).toBe(true);
    expect(matcher.matches("$.a.x")).toBe(true);
  });

  it("skips invalid patterns and never matches a path that is not one", () => {
    const matcher = compilePathPatterns(["not-a-path", "$.*"]);
    expect(matcher.matches("$.a")).toBe(true);
    expect(matcher.matches("nonsense")).toBe(false);
    expect(compilePathPatterns([]).matches("$.a")).toBe(false);
  });
});
