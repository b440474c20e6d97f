import { describe, expect, it } from "vitest";
import { isValidPathTemplate, parsePathTemplate } from "../../../src/routing/path-template.ts";

describe("path templates", () => {
  it("accepts literals, :params, a trailing slash and a trailing *", () => {
    for (const valid of ["/", "/*", "/api", "/api/", "/api/*", "/api/products/:id", "/api/:a/x/:b", "/a-b.c_d~!$&'()+,;=:@", "/:_id9"]) {
      expect(isValidPathTemplate(valid), valid).toBeUndefined();
    }
  });

  it("says why anything else is refused", () => {
    expect(isValidPathTemplate("api")).toBe('must start with "/", got "api"');
    expect(isValidPathTemplate("/a/*/b")).toBe('"*" is only allowed as the last segment, in "/a/*/b"');
    expect(isValidPathTemplate("/*/")).toBe('"*" is only allowed as the last segment, in "/*/"');
    expect(isValidPathTemplate("/a//b")).toBe('empty segment ("//") in "/a//b"');
    expect(isValidPathTemplate("//")).toBe('empty segment ("//") in "//"');
    expect(isValidPathTemplate("/a/./b")).toBe('dot-segments are not allowed, in "/a/./b"');
    expect(isValidPathTemplate("/a/..")).toBe('dot-segments are not allowed, in "/a/.."');
    expect(isValidPathTemplate("/a/:")).toBe('parameter ":" must be ":" followed by a name, in "/a/:"');
    expect(isValidPathTemplate("/a/:1d")).toBe('parameter ":1d" must be ":" followed by a name, in "/a/:1d"');
    expect(isValidPathTemplate("/a/::x")).toBe('parameter "::x" must be ":" followed by a name, in "/a/::x"');
    expect(isValidPathTemplate("/a/:id-x")).toBe('parameter ":id-x" must be ":" followed by a name, in "/a/:id-x"');
    expect(isValidPathTemplate("/:id/x/:id")).toBe('parameter :id appears twice in "/:id/x/:id"');
    expect(isValidPathTemplate("/a b")).toBe('segment "a b" holds characters a normalised path cannot (write it decoded; no "%", "?", "#" or spaces)');
    expect(isValidPathTemplate("/a%2F")).toMatch(/^segment "a%2F" holds characters/);
  });

  it("splits a valid template into literal, param and wildcard segments", () => {
    expect(parsePathTemplate("/")).toEqual([{ kind: "literal", value: "" }]);
    expect(parsePathTemplate("/*")).toEqual([{ kind: "wildcard" }]);
    expect(parsePathTemplate("/api/products/:id")).toEqual([
      { kind: "literal", value: "api" },
      { kind: "literal", value: "products" },
      { kind: "param", name: "id" },
    ]);
    expect(parsePathTemplate("/api/")).toEqual([{ kind: "literal", value: "api" }, { kind: "literal", value: "" }]);
    expect(parsePathTemplate("/orders/*")).toEqual([{ kind: "literal", value: "orders" }, { kind: "wildcard" }]);
  });
});
