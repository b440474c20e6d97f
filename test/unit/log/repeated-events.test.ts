import { describe, expect, it } from "vitest";
import { createRepeatedEvents } from "../../../src/log/repeated-events.ts";
import { capturingLogger } from "../../helpers/log-capture.ts";

describe("rate-limited logging of repeated events", () => {
  it("logs a key once per interval, then how often it repeated", async () => {
    const { logger, lines } = capturingLogger();
    const events = createRepeatedEvents(logger, 50);
    for (let i = 0; i < 5; i++) events.warn("upstream\u0000r\u0000b", { route: "r" }, "upstream failure");
    events.info("other", { route: "s" }, "replayed to legacy");
    expect(lines().map((l) => l.msg)).toEqual(["upstream failure", "replayed to legacy"]);
    await new Promise((r) => setTimeout(r, 120));
    expect(lines().filter((l) => l.msg === "upstream failure (repeated)")).toEqual([expect.objectContaining({ route: "r", repeated: 4 })]);
    // A new interval: the next occurrence is logged again at once.
    events.warn("upstream\u0000r\u0000b", { route: "r" }, "upstream failure");
    expect(lines().filter((l) => l.msg === "upstream failure")).toHaveLength(2);
    events.close();
  });
});
