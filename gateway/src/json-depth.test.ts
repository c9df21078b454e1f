import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isJsonWithinDepth } from "./json-depth.js";

/** The pull path's former depth check (brackets counted outside strings): the reference isJsonWithinDepth must agree with. */
function exceedsDepth(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

describe("exceedsDepth", () => {
  it("counts arrays and objects, not brackets inside strings", () => {
    expect(exceedsDepth('{"a":[1,{"b":2}]}', 3)).toBe(false);
    expect(exceedsDepth('{"a":[1,{"b":2}]}', 2)).toBe(true);
    expect(exceedsDepth('{"a":"[[[[[[\\"[[[["}', 1)).toBe(false);
  });

  it("finds a 1000-deep array past a limit of 128", () => {
    expect(exceedsDepth("[".repeat(1000) + "]".repeat(1000), 128)).toBe(true);
    expect(exceedsDepth("[".repeat(128) + "]".repeat(128), 128)).toBe(false);
  });
});

describe("isJsonWithinDepth", () => {
  // ignoreBOM keeps a leading BOM in the text (JSON.parse refuses it); the pull path never
  // inspects a body that starts with one (see deliveries.ts isInlineJson).
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  /** What the pull path did before: decode, depth scan, JSON.parse. */
  const reference = (b: Uint8Array, limit: number) => {
    try {
      const text = decoder.decode(b);
      if (exceedsDepth(text, limit)) return false;
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  };
  const enc = new TextEncoder();
  const same = (b: Uint8Array, limit = 128) => expect(isJsonWithinDepth(b, limit), JSON.stringify(Buffer.from(b).toString("latin1"))).toBe(reference(b, limit));

  it("accepts what JSON.parse accepts and refuses what it refuses", () => {
    const cases = [
      "{}", "[]", " {} ", "\t[1,2]\r\n", '{"a":1}', '{"a":[1,{"b":null}],"c":"x"}', "0", "-0", "1.5e+10", "-1E-2", "true", "false", "null",
      '"s"', '"\\u00e9\\n\\"\\\\\\/\\b\\f\\r\\t"', '"é😀"', " 42", "",
      "{", "}", "[1,]", '{"a":1,}', '{"a"}', '{"a":}', "{a:1}", "[01]", "[1.]", "[.5]", "[1e]", "[+1]", "[--1]", "[1 2]", '["a" "b"]',
      "tru", "nul", "[true false]", '"\\x"', '"\\u12g4"', '"\u0001"', '"tab\there"', "[1]x", "[1] [2]", "\u00a0[]", "[]\u0000", "\ufeff{}",
      '{"a":1 "b":2}', '{"a" 1}', "[,1]", "[1,,2]", "{,}", '{"a":1}}', "[[1]", "[1]]",
    ];
    for (const s of cases) same(enc.encode(s));
  });

  it("refuses invalid UTF-8 as the fatal decoder does", () => {
    for (const b of [[0x22, 0xff, 0x22], [0x22, 0xc3, 0x22], [0x22, 0xed, 0xa0, 0x80, 0x22], [0x22, 0xc0, 0xaf, 0x22], [0x5b, 0x22, 0xe9, 0x22, 0x5d]]) same(Uint8Array.from(b));
  });

  it("applies the depth limit exactly at the limit", () => {
    same(enc.encode("[".repeat(128) + "]".repeat(128)));
    same(enc.encode("[".repeat(129) + "]".repeat(129)));
    same(enc.encode('{"a":'.repeat(128) + "1" + "}".repeat(128)));
    same(enc.encode('{"a":'.repeat(129) + "1" + "}".repeat(129)));
    same(enc.encode("[".repeat(5_000)), 128);
    same(enc.encode("[[[]]]"), 2);
    same(enc.encode("[[]]"), 2);
  });

  it("agrees with decode + depth + JSON.parse on generated documents and their mutations", () => {
    const junk = fc.constantFrom(..."{}[]\",:\\ \t\n0123456789-+.eEtrufalsn\u0001é".split(""));
    fc.assert(
      fc.property(fc.json({ maxDepth: 6 }), fc.array(fc.tuple(fc.nat(), junk, fc.boolean()), { maxLength: 3 }), fc.integer({ min: 1, max: 8 }), (doc, edits, limit) => {
        same(enc.encode(doc), limit);
        let s = doc;
        for (const [at, ch, insert] of edits) {
          const k = s.length === 0 ? 0 : at % s.length;
          s = s.slice(0, k) + ch + s.slice(insert ? k : k + 1);
        }
        same(enc.encode(s), limit);
      }),
      { numRuns: 3_000 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        same(b, 4);
      }), { numRuns: 2_000 });
  });
});
