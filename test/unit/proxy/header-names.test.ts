import { describe, expect, it } from "vitest";
import { lowerCasedHeaderName } from "../../../src/proxy/header-names.ts";

const name = (text: string) => lowerCasedHeaderName(Buffer.from(text, "latin1"));

describe("lowerCasedHeaderName", () => {
  it("gives a common name lower-cased, whatever its case", () => {
    expect(name("content-type")).toBe("content-type");
    expect(name("Content-Type")).toBe("content-type");
    expect(name("CONTENT-LENGTH")).toBe("content-length");
    expect(name("X-Request-Id")).toBe("x-request-id");
    expect(name("TE")).toBe("te");
  });

  it("gives any other name lower-cased the ordinary way", () => {
    expect(name("X-Custom-Thing")).toBe("x-custom-thing");
    expect(name("x-b")).toBe("x-b");
    expect(name("")).toBe("");
  });

  it("folds only ASCII letters: a byte that differs from a common name's in any other way is another name", () => {
    // Same length as "content-type"; 0x0d | 0x20 is '-', but CR is not '-'.
    expect(name("content\rtype")).toBe("content\rtype");
    // '@' + 32 is '`', and 'E' + 32 is 'e': only A–Z are folded.
    expect(name("dat@")).toBe("dat@");
    expect(name("Etag")).toBe("etag");
    // Latin-1 letters are not ASCII letters: lower-cased by toLowerCase, never matched to a common name.
    expect(name("d\u00c1te")).toBe("d\u00e1te");
  });

  it("never takes a name for a common one it only resembles: an upper-case letter folds to its own lower case only", () => {
    // Same length as "date": D, A and T fold to d, a and t, but B is not e.
    expect(name("DATB")).toBe("datb");
    // 'M' is '-' plus 32: it must not stand for the '-' of "content-type".
    expect(name("contentMtype")).toBe("contentmtype");
    expect(name("CONTENT-TYPF")).toBe("content-typf");
  });

  it("does not take a prefix or a longer name for a common one", () => {
    expect(name("content-types")).toBe("content-types");
    expect(name("dates")).toBe("dates");
  });
});
