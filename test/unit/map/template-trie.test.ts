import { describe, expect, it } from "vitest";
import { isIdentifierLike } from "../../../src/map/segments.ts";
import { TemplateTrie } from "../../../src/map/template-trie.ts";

const limits = { maxNodes: 5_000, maxLiterals: 50, maxDepth: 12 };

describe("identifier-like segments", () => {
  it.each(["42", "0", "p_001", "ord_seed_042", "sku-1234", "INV-2024-17", "3f2b9c1a", "ord_6f1c2b9e-0d1a-4c4f-9a55-1b2c3d4e5f60", "6f1c2b9e-0d1a-4c4f-9a55-1b2c3d4e5f60", "dGhpcyBpcyBhIHRva2VuMTI", "x".repeat(65), ":id"])("%s is an id", (segment) => {
    expect(isIdentifierLike(segment)).toBe(true);
  });
  it.each(["api", "users", "me", "v1", "v2", "export", "items", "cancel", "healthz", "order-history", "deadbeef", "abcdefabcdef", "2fa", "x".repeat(64)])("%s is a literal", (segment) => {
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
    const templates = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const depth = 1 + (i % 6);
      const path = `/${Array.from({ length: depth }, word).join("/")}`;
      const template = trie.fold(path);
      if (template === undefined) overflow++;
      else if (i >= 90_000) templates.add(template);
      expect(trie.size).toBeLessThanOrEqual(2_000);
    }
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
});
