import { describe, expect, it } from "vitest";
import { isIdentifierLike } from "../../../src/map/segments.ts";
import { TemplateTrie } from "../../../src/map/template-trie.ts";

const limits = { maxNodes: 5_000, maxLiterals: 50, maxDepth: 12 };

describe("identifier-like segments", () => {
  it.each(["42", "0", "p_001", "ord_seed_042", "sku-1234", "INV-2024-17", "3f2b9c1a", "ord_6f1c2b9e-0d1a-4c4f-9a55-1b2c3d4e5f60", "6f1c2b9e-0d1a-4c4f-9a55-1b2c3d4e5f60", "12345678-1234-1234-1234-123456789012", "order.6f1c2b9e-0d1a-4c4f-9a55-1b2c3d4e5f60", "dGhpcyBpcyBhIHRva2VuMTI", "x".repeat(65), ":id"])("%s is an id", (segment) => {
    expect(isIdentifierLike(segment)).toBe(true);
  });
  it.each(["api", "users", "me", "v1", "v2", "export", "items", "cancel", "healthz", "order-history", "deadbeef", "abcdefabcdef", "2fa", "x".repeat(64), "1234567-1234-1234-1234-123456789012", "12345678-123-1234-1234-123456789012", "12345678-1234-123-1234-123456789012", "12345678-1234-1234-123-123456789012", "12345678-1234-1234-1234-12345678901", "a.b-1"])("%s is a literal", (segment) => {
    expect(isIdentifierLike(segment)).toBe(false);
  });
});

describe("the template trie", () => {
  it("turns ids into numbered parameters and keeps literals", () => {
    const trie = new TemplateTrie(limits);
    expect(trie.fold("/")).toBe("/");
    expect(trie.fold("/api/users")).toBe("/api/users");
    expect(trie.fold("/api/users/u_017")).toBe("/api/users/:id");
    expect(trie.fold("/api/users/me")).toBe("/api/users/me");
    expect(trie.fold("/api/cart/u_003/items/p_042")).toBe("/api/cart/:id/items/:id2");
    expect(trie.fold("/api/orders/ord_6f1c2b9e-0d1a-4c4f-9a55-1b2c3d4e5f60/cancel")).toBe("/api/orders/:id/cancel");
    expect(trie.fold("/api/users/")).toBe("/api/users/");
    // A template read back folds to itself.
    expect(trie.fold("/api/cart/:id/items/:id2")).toBe("/api/cart/:id/items/:id2");
  });

  it("collapses a position that sees more distinct literals than maxLiterals, keeping what lies below", () => {
    const trie = new TemplateTrie({ ...limits, maxLiterals: 3 });
    for (const word of ["alpha", "beta", "gamma"]) expect(trie.fold(`/tags/${word}/posts`)).toBe(`/tags/${word}/posts`);
    expect(trie.fold("/tags/delta/posts")).toBe("/tags/:id/posts");
    expect(trie.fold("/tags/alpha/posts")).toBe("/tags/:id/posts");
    expect(trie.fold("/tags/epsilon")).toBe("/tags/:id");
    expect([...trie.collapsedPrefixes]).toEqual(["/tags"]);
    // Collapsing freed the literal subtrees: root, tags, :id, posts.
    expect(trie.size).toBe(4);
  });

  it("learns a collapse found elsewhere", () => {
    const trie = new TemplateTrie(limits);
    expect(trie.fold("/tags/alpha")).toBe("/tags/alpha");
    trie.collapse("/tags");
    expect(trie.fold("/tags/alpha")).toBe("/tags/:id");
    expect(trie.fold("/tags/zeta")).toBe("/tags/:id");
  });

  it("cuts paths deeper than maxDepth into a trailing /*", () => {
    const trie = new TemplateTrie({ ...limits, maxDepth: 3 });
    expect(trie.fold("/a/b/c/d/e")).toBe("/a/b/c/*");
    expect(trie.fold("/a/b/c/*")).toBe("/a/b/c/*");
    expect(trie.fold("/a/b/c")).toBe("/a/b/c");
  });

  it("stays within maxNodes over 100,000 distinct paths, refusing (overflow) rather than growing", () => {
    const trie = new TemplateTrie({ maxNodes: 2_000, maxLiterals: 50, maxDepth: 12 });
    let seed = 7;
    const word = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return `w${"abcdefghijklmnopqrstuvwxyz"[seed % 26]}${"abcdefghijklmnopqrstuvwxyz"[(seed >> 5) % 26]}${"abcdefghijklmnopqrstuvwxyz"[(seed >> 10) % 26]}`;
    };
    let overflow = 0;
    let largest = 0;
    const templates = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const depth = 1 + (i % 6);
      const path = `/${Array.from({ length: depth }, word).join("/")}`;
      const template = trie.fold(path);
      if (template === undefined) overflow++;
      else if (i >= 90_000) templates.add(template);
      // One expect per path cost most of this test's 5 s (vitest's default budget): the largest size, once.
      largest = Math.max(largest, trie.size);
    }
    expect(largest).toBeLessThanOrEqual(2_000);
    // Random words at every position collapse every position: once they have, one template per depth.
    expect([...templates].sort()).toEqual(["/:id", "/:id/:id2", "/:id/:id2/:id3", "/:id/:id2/:id3/:id4", "/:id/:id2/:id3/:id4/:id5", "/:id/:id2/:id3/:id4/:id5/:id6"]);
    expect(overflow).toBe(0);
    // Distinct shapes the collapse cannot merge (a literal per depth, 26 letters × 6 depths) fill the trie instead.
    const full = new TemplateTrie({ maxNodes: 100, maxLiterals: 50, maxDepth: 12 });
    let refused = 0;
    for (let i = 0; i < 100_000; i++) {
      const path = `/${Array.from({ length: 1 + (i % 6) }, (_, d) => `${"abcdefghijklmnopqrstuvwxyz"[(i * 7 + d) % 26]}${d}`).join("/")}`;
      if (full.fold(path) === undefined) refused++;
    }
    expect(full.size).toBeLessThanOrEqual(100);
    expect(refused).toBeGreaterThan(0);
  });

  it("names the position it collapses, under parameters too, and at the root", () => {
    const trie = new TemplateTrie({ ...limits, maxLiterals: 2 });
    for (const w of ["red", "blue", "green"]) trie.fold(`/api/u_1/b/p_2/${w}`);
    expect([...trie.collapsedPrefixes]).toEqual(["/api/:id/b/:id2"]);
    expect(trie.fold("/api/u_9/b/p_8/plum")).toBe("/api/:id/b/:id2/:id3");
    const root = new TemplateTrie({ ...limits, maxLiterals: 2 });
    for (const w of ["red", "blue", "green"]) root.fold(`/${w}`);
    expect([...root.collapsedPrefixes]).toEqual(["/"]);
    expect(root.fold("/anything")).toBe("/:id");
    const told = new TemplateTrie(limits);
    told.collapse("/");
    expect(told.fold("/x")).toBe("/:id");
    expect(told.fold("")).toBe("/");
  });

  it("merges what lay below the collapsed literals, counting each node once", () => {
    const trie = new TemplateTrie({ ...limits, maxLiterals: 2 });
    expect(trie.fold("/t/a/x")).toBe("/t/a/x");
    expect(trie.fold("/t/b/42")).toBe("/t/b/:id");
    expect(trie.fold("/t/b/y")).toBe("/t/b/y");
    // root, t, a, x, b, :id, y
    expect(trie.size).toBe(7);
    expect(trie.fold("/t/c")).toBe("/t/:id");
    // root, t, :id, and under it x, y and a parameter: a and b merged into :id.
    expect(trie.size).toBe(6);
    expect(trie.fold("/t/zz/x")).toBe("/t/:id/x");
    expect(trie.fold("/t/zz/7")).toBe("/t/:id/:id2");
    expect(trie.fold("/t/zz/y")).toBe("/t/:id/y");
    expect(trie.size).toBe(6);
  });

  it("refuses exactly at maxNodes, for literals and for parameters", () => {
    const trie = new TemplateTrie({ maxNodes: 3, maxLiterals: 50, maxDepth: 12 });
    expect(trie.fold("/a/b")).toBe("/a/b");
    expect(trie.size).toBe(3);
    expect(trie.fold("/c")).toBeUndefined();
    expect(trie.fold("/a/1")).toBeUndefined();
    expect(trie.fold("/a/b")).toBe("/a/b");
    const params = new TemplateTrie({ maxNodes: 2, maxLiterals: 50, maxDepth: 12 });
    expect(params.fold("/1")).toBe("/:id");
    expect(params.fold("/1/2")).toBeUndefined();
    expect(params.size).toBe(2);
  });

  it("keeps a trailing /* as it is, and a path with a literal * segment inside it", () => {
    const trie = new TemplateTrie(limits);
    expect(trie.fold("/a/*")).toBe("/a/*");
    expect(trie.fold("/a/*")).toBe("/a/*");
    expect(trie.fold("/a/*/b")).toBe("/a/*/b");
    expect(trie.fold("/a")).toBe("/a");
  });
});
