import { describe, expect, it } from "vitest";
import { passesLuhn, scrubFreeText } from "../../../src/redaction/free-text.ts";
import { REDACTED, Redactor } from "../../../src/redaction/redactor.ts";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1XzAwMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

describe("secrets in free text, by their shape", () => {
  it("withholds JWTs, HTTP credentials, Luhn-valid card numbers and e-mail addresses, and names what stood there", () => {
    expect(scrubFreeText(`token ${JWT} end`)).toBe("token [redacted jwt] end");
    expect(scrubFreeText("Authorization was Bearer abcdef123456.xyz")).toBe("Authorization was Bearer [redacted]");
    expect(scrubFreeText("card 4111 1111 1111 1111, exp 12/29")).toBe("card [redacted card], exp 12/29");
    expect(scrubFreeText("card 4111-1111-1111-1111")).toBe("card [redacted card]");
    expect(scrubFreeText("amex 3782 822463 10005 and 378282246310005")).toBe("amex [redacted card] and [redacted card]");
    expect(scrubFreeText("write to jane.doe+shop@example.co.uk today")).toBe("write to [redacted email] today");
  });

  it("leaves what only looks alike: digit runs failing Luhn, prices, timestamps, short numbers", () => {
    expect(scrubFreeText("order 4111111111111112")).toBe("order 4111111111111112");
    expect(scrubFreeText("price 12.99, at 2026-12-06T10:00:00Z, id 1234567")).toBe("price 12.99, at 2026-12-06T10:00:00Z, id 1234567");
    // Millisecond timestamps are 13 digits and one in ten passes Luhn: none starts as a card number does.
    for (const ms of ["1733480000000", "1733480000008", "1765000000001"]) expect(scrubFreeText(ms)).toBe(ms);
    // The digits of an identifier, between its letters: a UUID whose last segments hold a Luhn-valid run.
    expect(scrubFreeText("ord_834ef78f-c227-4261-a411-1111111111e1")).toBe("ord_834ef78f-c227-4261-a411-1111111111e1");
    expect(scrubFreeText("sha 9f4111111111111111ab")).toBe("sha 9f4111111111111111ab");
    // A card still is one beside punctuation, an underscore or a space.
    expect(scrubFreeText("card_4111111111111111, cc:4111-1111-1111-1111")).toBe("card_[redacted card], cc:[redacted card]");
  });

  it("the Luhn check", () => {
    expect(passesLuhn("4111111111111111")).toBe(true);
    expect(passesLuhn("5555555555554444")).toBe(true);
    expect(passesLuhn("4111111111111112")).toBe(false);
  });
});

describe("Redactor", () => {
  const redactor = new Redactor({ headers: ["X-Tenant-Secret-Id"], queryParams: ["tenant"], fields: ["ssnLast4"] });

  it("headers: credentials by name withheld (the defaults and the config's), other values scrubbed", () => {
    expect(
      redactor.headers({
        authorization: "Bearer abc",
        cookie: "sid=1",
        "x-api-key": "k-123",
        "x-csrf-token": "t",
        "x-tenant-secret-id": "7",
        "x-forwarded-for": "10.0.0.1",
        "x-note": `see ${JWT}`,
        accept: ["a", "b"],
      }),
    ).toEqual({
      authorization: REDACTED,
      cookie: REDACTED,
      "x-api-key": REDACTED,
      "x-csrf-token": REDACTED,
      "x-tenant-secret-id": REDACTED,
      "x-forwarded-for": "10.0.0.1",
      "x-note": "see [redacted jwt]",
      accept: "a, b",
    });
  });

  it("headers and paths come out the same the second time, when names' fates and clean values are remembered: a value clean under one name is withheld under a credential's, a secret is scrubbed every time", () => {
    const fresh = new Redactor();
    for (let round = 0; round < 3; round++) {
      expect(fresh.headers({ "x-note": "k-123", accept: "application/json" })).toEqual({ "x-note": "k-123", accept: "application/json" });
      expect(fresh.headers({ "x-api-key": "k-123", Accept: "application/json" })).toEqual({ "x-api-key": REDACTED, Accept: "application/json" });
      expect(fresh.headers({ "x-note": `see ${JWT}` })).toEqual({ "x-note": "see [redacted jwt]" });
      expect(fresh.path(`/links/${JWT}`)).toBe("/links/[redacted jwt]");
      expect(fresh.path("/users/42")).toBe("/users/42");
    }
    // Past what it remembers (a thousand of each), it forgets and still answers the same.
    for (let i = 0; i < 2_500; i++) expect(fresh.headers({ [`x-h${i}`]: `v${i}`, [`x-token-${i}`]: "t" })).toEqual({ [`x-h${i}`]: `v${i}`, [`x-token-${i}`]: REDACTED });
    expect(fresh.headers({ "x-note": "k-123", "x-api-key": "k-123" })).toEqual({ "x-note": "k-123", "x-api-key": REDACTED });
  });

  it("query: credential parameters' values withheld, other values scrubbed, the rest byte for byte", () => {
    expect(redactor.query("?page=2&api_key=s3cr3t&access_token=t&key=AIza&tenant=acme&sort=-price")).toBe("?page=2&api_key=%5Bredacted%5D&access_token=%5Bredacted%5D&key=%5Bredacted%5D&tenant=%5Bredacted%5D&sort=-price");
    expect(redactor.query("?email=jane%40example.com&q=shoes")).toBe("?email=%5Bredacted%20email%5D&q=shoes");
    expect(redactor.query("")).toBe("");
  });

  it("JSON bodies: credential-named members, the config's fields and the route's paths withheld, strings scrubbed, cards sent as numbers too", () => {
    const body = JSON.stringify({ user: { email: "a@b.io", password: "hunter2", ssnLast4: "1234" }, apiKey: "k", card: 4111111111111111, items: [{ note: JWT, price: 4.99 }], customer: { name: "Jane" } });
    expect(JSON.parse(redactor.body(body, "application/json", ["$.customer.name"], 10_000))).toEqual({
      user: { email: "[redacted email]", password: REDACTED, ssnLast4: REDACTED },
      apiKey: REDACTED,
      card: "[redacted card]",
      items: [{ note: "[redacted jwt]", price: 4.99 }],
      customer: { name: REDACTED },
    });
  });

  it("a JSON body with nothing to withhold is stored as it came, unparsed, exactly when the full redaction would change nothing", () => {
    const redactor = new Redactor({ headers: [], queryParams: [], fields: ["memberNo"], pseudonymize: { headers: [], queryParams: [], fields: ["customerRef"] }, pseudonymKey: "a2V5" });
    // A path matching nothing forces the full path (parse, walk, rewrite): the reference.
    const full = (text: string) => redactor.body(text, "application/json", ["$.never.here"], 1 << 20);
    const fast = (text: string) => redactor.body(text, "application/json", [], 1 << 20);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const words = ["id", "name", "price", "items", "qty", "note", "tags", "total", "status", "createdAt", "memberNo", "customerRef", "token", "pin", "owner", "ref", "code"];
    const values = () => [12.5, 4111111111111111, 1733500000000, "plain text", "jane@example.com", "x".repeat(40), "a\"quoted\"", "2026-12-07T01:00:00Z", "Bearer abcdefghij", "é ü", 7, null, true];
    const make = (depth: number): unknown => {
      if (depth > 2 || random() < 0.4) return values()[Math.floor(random() * values().length)];
      if (random() < 0.3) return Array.from({ length: 1 + Math.floor(random() * 3) }, () => make(depth + 1));
      return Object.fromEntries(Array.from({ length: 1 + Math.floor(random() * 4) }, () => [words[Math.floor(random() * words.length)] as string, make(depth + 1)]));
    };
    let unchanged = 0;
    let redacted = 0;
    for (let i = 0; i < 2_000; i++) {
      const text = JSON.stringify(make(0), null, i % 2 === 0 ? undefined : 2);
      const reference = full(text);
      const fastResult = fast(text);
      // Whatever path it takes, the stored body means what the full redaction's does.
      expect(JSON.parse(fastResult), text).toEqual(JSON.parse(reference));
      if (fastResult === text) unchanged++;
      if (JSON.stringify(JSON.parse(reference)) !== JSON.stringify(JSON.parse(text))) redacted++;
    }
    // Both kinds were met: bodies kept as they came, and bodies with something withheld.
    expect(unchanged).toBeGreaterThan(100);
    expect(redacted).toBeGreaterThan(100);
    // Kept byte for byte (its spacing too) when nothing is withheld; rewritten when something is.
    expect(fast('{ "id": 1,\n  "name": "lamp" }')).toBe('{ "id": 1,\n  "name": "lamp" }');
    expect(fast('{"name":"\\u006a\\u0061ne@example.com"}')).toBe('{"name":"[redacted email]"}');
    expect(fast('{"memberNo":"M-1"}')).toBe('{"memberNo":"[redacted]"}');
  });

  it("JSON that does not parse (cut short) still loses its credential members and secrets by shape", () => {
    const cut = '{"user":"u_1","password":"hunter2","token":"abc.def","mail":"a@b.io","rest":[1,2';
    const stored = redactor.body(cut, "application/json", [], 10_000);
    expect(stored).not.toContain("hunter2");
    expect(stored).not.toContain("abc.def");
    expect(stored).not.toContain("a@b.io");
    expect(stored).toContain('"user":"u_1"');
  });

  it("form bodies by field, plain text by shape and by `name=value`, binary not at all", () => {
    expect(redactor.body("user=jane&password=hunter2&ssnLast4=1234", "application/x-www-form-urlencoded", [], 10_000)).toBe("user=jane&password=%5Bredacted%5D&ssnLast4=%5Bredacted%5D");
    expect(redactor.body("login failed for jane@x.io: password=hunter2 token: abc123", "text/plain", [], 10_000)).toBe("login failed for [redacted email]: password=[redacted] token: [redacted]");
    expect(redactor.body("PNG\u0000\u0001binary", "image/png", [], 10_000)).toBe("(11 bytes of binary content: not stored)");
  });

  it("cuts after redacting, so a cut cannot split a secret past the patterns", () => {
    const stored = redactor.body(`${"x".repeat(30)} ${JWT}`, "text/plain", [], 40);
    expect(stored).toBe(`${"x".repeat(30)} [redacted… (truncated)`);
    expect(stored).not.toContain("eyJ");
  });

  it("differences: withheld whole under a credential's name or a route's path, otherwise redacted as the JSON or text they render", () => {
    expect(redactor.difference({ path: "$.session.accessToken", kind: "changed", left: '"a"', right: '"b"' }, [])).toMatchObject({ left: REDACTED, right: REDACTED });
    expect(new Redactor({ headers: ["X-Vendor-Pass"], queryParams: [], fields: [] }).difference({ path: "header:x-vendor-pass", kind: "changed", left: "a", right: "b" }, [])).toMatchObject({ left: REDACTED, right: REDACTED });
    expect(redactor.difference({ path: "$.profile.nickname.first", kind: "changed", left: '"a"', right: '"b"' }, ["$.profile.nickname"])).toMatchObject({ left: REDACTED, right: REDACTED });
    expect(redactor.difference({ path: "$.user", kind: "changed", left: '{"password":"x","mail":"a@b.io"}', right: '"plain"' }, [])).toMatchObject({ left: '{"password":"[redacted]","mail":"[redacted email]"}', right: '"plain"' });
    expect(redactor.difference({ path: "body", kind: "changed", left: '{"token":"abc","cut', right: "ok" }, [])).toMatchObject({ left: '{"token":"[redacted]","cut', right: "ok" });
    expect(redactor.difference({ path: "$.items[0].price", kind: "type_changed", left: "4.99", right: '"4.99"' }, [])).toMatchObject({ left: "4.99", right: '"4.99"' });
    const added = { path: "$.x", kind: "added" as const };
    expect(redactor.difference(added, [])).toBe(added);
  });

  it("pseudonyms: by name per channel, keyed, the same for the same value wherever it appears, never the value", () => {
    const key = Buffer.alloc(32, 7).toString("base64");
    const keyed = new Redactor({ headers: [], queryParams: [], fields: [], pseudonymize: { headers: ["x-user-id"], queryParams: ["user"], fields: ["userId"] }, pseudonymKey: key });
    const fromHeader = keyed.headers({ "x-user-id": "u_001" })["x-user-id"] as string;
    expect(fromHeader).toMatch(/^psn_[A-Za-z0-9_-]{22}$/);
    expect(keyed.query("?user=u_001&page=1")).toBe(`?user=${fromHeader}&page=1`);
    expect(JSON.parse(keyed.body(JSON.stringify({ order: { userId: "u_001" }, other: { userId: "u_002" } }), "application/json", [], 10_000))).toEqual({ order: { userId: fromHeader }, other: { userId: expect.not.stringMatching(fromHeader) } });
    expect(keyed.difference({ path: "$.userId", kind: "changed", left: '"u_001"', right: '"u_009"' }, []).left).toBe(JSON.stringify(fromHeader));
    // Another key, another pseudonym: not a plain hash anyone could recompute from a guessed id.
    const otherKey = new Redactor({ headers: [], queryParams: [], fields: [], pseudonymize: { headers: ["x-user-id"], queryParams: [], fields: [] }, pseudonymKey: Buffer.alloc(32, 8).toString("base64") });
    expect(otherKey.headers({ "x-user-id": "u_001" })["x-user-id"]).not.toBe(fromHeader);
    // No key: withheld, not stored in clear.
    expect(new Redactor({ headers: [], queryParams: [], fields: [], pseudonymize: { headers: ["x-user-id"], queryParams: [], fields: [] } }).headers({ "x-user-id": "u_001" })["x-user-id"]).toBe(REDACTED);
  });
});
