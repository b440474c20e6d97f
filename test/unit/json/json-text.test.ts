import { describe, expect, it } from "vitest";
import { jsonNumber, jsonString } from "../../../src/json/json-text.ts";

describe("JSON text written by hand", () => {
  it("quotes every string exactly as JSON.stringify does, on the short path and the long one", () => {
    const long = "y".repeat(64);
    const strings = ["", "plain", "/api/items/42", 'a "quote"', "back\\slash", "tab\there", "new\nline", "\u0000", "\u001f", "\u007f", "é ünïcödé", "😀", "\ud800 lone", "x\udfff", long, `${long}z`, `${long}"`, "\u2028\u2029"];
    for (const text of strings) expect(jsonString(text)).toBe(JSON.stringify(text));
  });

  it("writes numbers as JSON.stringify does, non-finite ones as null", () => {
    for (const n of [0, -0, 1, -1.5, 0.1 + 0.2, 1e21, 1e-7, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity]) expect(jsonNumber(n)).toBe(JSON.stringify(n));
  });
});
