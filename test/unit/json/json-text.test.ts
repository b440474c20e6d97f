import { describe, expect, it } from "vitest";
import { jsonMilliseconds, jsonNumber, jsonString } from "../../../src/json/json-text.ts";

describe("JSON text written by hand", () => {
  it("quotes every string exactly as JSON.stringify does, on the short path and the long one", () => {
    const long = "y".repeat(64);
    const strings = ["", "plain", "/api/items/42", 'a "quote"', "back\\slash", "tab\there", "new\nline", "\u0000", "\u001f", "\u007f", "é ünïcödé", "😀", "\ud800 lone", "x\udfff", long, `${long}z`, `${long}"`, "\u2028\u2029"];
    for (const text of strings) expect(jsonString(text)).toBe(JSON.stringify(text));
  });

  it("writes numbers as JSON.stringify does, non-finite ones as null", () => {
    for (const n of [0, -0, 1, -1.5, 0.1 + 0.2, 1e21, 1e-7, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity]) expect(jsonNumber(n)).toBe(JSON.stringify(n));
  });

  it("writes a duration to the microsecond as JSON.stringify writes it rounded, for every fraction and magnitude", () => {
    const expected = (ms: number) => JSON.stringify(Math.round(ms * 1000) / 1000);
    const samples = [0, 0.0004, 0.0005, 0.001, 0.01, 0.1, 0.12, 0.123, 0.1234, 1, 1.5, 1.05, 1.005, 10.25, 999.999, 1000, 123456.789, 2 ** 40 + 0.5, 2 ** 53 / 1000, 2 ** 60, 1e21, -0, -1.5, NaN, Infinity];
    for (const ms of samples) expect(jsonMilliseconds(ms)).toBe(expected(ms));
    // Every microsecond fraction, at a few magnitudes, and random durations.
    for (const whole of [0, 7, 86_400_000]) for (let us = 0; us < 1000; us++) expect(jsonMilliseconds(whole + us / 1000)).toBe(expected(whole + us / 1000));
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.random() * 10 ** Math.floor(Math.random() * 9);
      expect(jsonMilliseconds(ms)).toBe(expected(ms));
    }
  });
});
