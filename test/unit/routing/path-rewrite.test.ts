import { describe, expect, it } from "vitest";
import { compilePathRewrite, pathRewriteProblem } from "../../../src/routing/path-rewrite.ts";

describe("a route's rewrite of its target's path", () => {
  it("strips a prefix of whole segments", () => {
    const rewrite = compilePathRewrite("/api/*", { stripPrefix: "/api" });
    expect(rewrite?.("/api/products/42")).toBe("/products/42");
    expect(rewrite?.("/api")).toBe("/");
    expect(rewrite?.("/api/")).toBe("/");
  });

  it("replaces a prefix, the root included", () => {
    expect(compilePathRewrite("/api/products/:id", { replacePrefix: { from: "/api", to: "/v2/catalog" } })?.("/api/products/42")).toBe("/v2/catalog/products/42");
    expect(compilePathRewrite("/api/products", { replacePrefix: { from: "/api/products", to: "/" } })?.("/api/products")).toBe("/");
  });

  it("maps the route's parameters and rest into a template, in any order", () => {
    expect(compilePathRewrite("/api/products/:id", { path: "/v2/catalog/products/:id" })?.("/api/products/42")).toBe("/v2/catalog/products/42");
    expect(compilePathRewrite("/api/:shop/orders/:id", { path: "/orders/:id/of/:shop" })?.("/api/eu/orders/7")).toBe("/orders/7/of/eu");
    const rest = compilePathRewrite("/files/:owner/*", { path: "/store/:owner/*" });
    expect(rest?.("/files/ann/a/b.txt")).toBe("/store/ann/a/b.txt");
    expect(rest?.("/files/ann")).toBe("/store/ann");
    expect(rest?.("/files/ann/")).toBe("/store/ann/");
  });

  it("has none without a rewrite", () => {
    expect(compilePathRewrite("/x", undefined)).toBeUndefined();
    expect(compilePathRewrite("/x", {})).toBeUndefined();
  });

  it("refuses, naming the key, what cannot apply to every request of the route", () => {
    expect(pathRewriteProblem("/api/products/:id", { path: "/v2/:sku" })).toEqual({ key: "path", message: 'uses :sku, which the route\'s path "/api/products/:id" does not have (it has :id)' });
    expect(pathRewriteProblem("/api/products/:id", { path: "/v2/*" })?.message).toMatch(/catches no rest/);
    expect(pathRewriteProblem("/api/products/:id", { stripPrefix: "/ap" })?.message).toMatch(/does not start with "\/ap"/);
    expect(pathRewriteProblem("/:version/products", { stripPrefix: "/v1" })?.message).toMatch(/does not start with/);
    expect(pathRewriteProblem("/api/x", { stripPrefix: "/api/" })?.message).toMatch(/must not end with "\/"/);
    expect(pathRewriteProblem("/api/x", { stripPrefix: "/" })?.message).toMatch(/at least one segment/);
    expect(pathRewriteProblem("/api/x", { replacePrefix: { from: "/api", to: "/v2/:id" } })).toEqual({ key: "replacePrefix.to", message: 'must be literal segments (no ":param" or "*"), got "/v2/:id"' });
    expect(pathRewriteProblem("/api/x", { replacePrefix: { from: "/api", to: "/a/../b" } })?.key).toBe("replacePrefix.to");
    expect(pathRewriteProblem("/api/x", { path: "/a%2Fb" })?.message).toMatch(/characters a normalised path cannot/);
    expect(pathRewriteProblem("/api/x", { stripPrefix: "/api", path: "/x" })?.message).toMatch(/cannot be set beside stripPrefix/);
  });

  it("accepts what the proxy's own normaliser reads back unchanged", () => {
    expect(pathRewriteProblem("/api/products/:id", { path: "/v2/catalog/products/:id" })).toBeUndefined();
    expect(pathRewriteProblem("/api/*", { stripPrefix: "/api" })).toBeUndefined();
    expect(pathRewriteProblem("/api/*", { replacePrefix: { from: "/api", to: "/" } })).toBeUndefined();
  });
});
