import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeToken,
  deliverySubject,
  encodeToken,
  endpointGrantSubject,
  MAX_SUBJECT_BYTES,
  endpointOfSubject,
  parseDeliverySubject,
  parseRedriveSubject,
  parseWebhookPath,
  redriveFilters,
  redriveSubject,
  SubjectError,
} from "./subjects.js";

const endpointId = "7107ca7a-7dd9-4e5f-8724-d186f231b17b";
/** What a token may look like on the wire: never a wildcard, separator, space or `$` start. */
const SAFE_TOKEN = /^(?:[A-Za-z0-9_-]|~[0-9A-F]{2}|~$)+$/;

describe("subject tokens", () => {
  it("round-trips any string and never yields a wildcard, dot, whitespace or $ prefix", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (s) => {
        const token = encodeToken(s);
        expect(token).toMatch(SAFE_TOKEN);
        expect(token).not.toMatch(/[*>.\s$]/);
        expect(token.length).toBeGreaterThan(0);
        expect(decodeToken(token)).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  it("encodes the characters NATS treats specially", () => {
    expect(encodeToken("*")).toBe("~2A");
    expect(encodeToken(">")).toBe("~3E");
    expect(encodeToken("a.b")).toBe("a~2Eb");
    expect(encodeToken("$SYS")).toBe("~24SYS");
    expect(encodeToken("")).toBe("~");
    expect(encodeToken("push")).toBe("push");
  });

  it("refuses to decode what the encoder cannot produce", () => {
    for (const bad of ["", "a.b", "*", "~2", "~zz", "~FF"]) expect(() => decodeToken(bad)).toThrow(SubjectError);
  });
});

describe("delivery subjects", () => {
  it("round-trips endpoint, event and any valid path", () => {
    const segment = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) => {
      const f = s.normalize("NFKC");
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
      return f !== "." && f !== ".." && !s.includes("/") && !/[\u0000-\u001f\u007f]/.test(s);
    });
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.array(segment, { minLength: 1, maxLength: 6 }), (event, segments) => {
        const subject = deliverySubject(endpointId, event, segments);
        for (const token of subject.split(".")) expect(token).toMatch(SAFE_TOKEN);
        expect(parseDeliverySubject(subject)).toEqual({ endpointId, event, segments });
        // Every delivery of the endpoint is inside its grant.
        expect(subject.startsWith(endpointGrantSubject(endpointId).slice(0, -1))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("caps the subject length", () => {
    expect(() => deliverySubject(endpointId, "push", ["x".repeat(MAX_SUBJECT_BYTES)])).toThrow(/too long/);
  });
});

describe("webhook paths", () => {
  it("decodes percent-escapes per segment", () => {
    expect(parseWebhookPath("/github/my%20repo/")).toEqual(["github", "my repo"]);
  });

  it.each(["", "/", "a//b", "a/./b", "a/../b", "a/%2e%2E/b", "a/\uFF0E\uFF0E/b", "a/%00", "a/%0D%0A", "a/%2F", "a/%E0%A4%A"])(
    "rejects %j",
    (path) => {
      expect(() => parseWebhookPath(path)).toThrow(SubjectError);
    },
  );
});

describe("redrive subjects", () => {
  const durable = "u_0123456789abcdef0123456789abcdef_ci";
  const ep = endpointGrantSubject(endpointId).split(".")[1]!;

  it("round-trip durable and endpoint, and are never a delivery subject or matched by a grant", () => {
    const subject = redriveSubject(durable, endpointId);
    expect(subject).toBe(`wh.rd.${durable}.${ep}`);
    expect(parseRedriveSubject(subject)).toEqual({ durable, endpointId });
    expect(endpointOfSubject(subject)).toBe(endpointId);
    expect(() => parseDeliverySubject(subject)).toThrow(SubjectError);
    // A delivery subject is not a redrive subject, and its endpoint is found the usual way.
    const delivery = deliverySubject(endpointId, "push", ["a"]);
    expect(parseRedriveSubject(delivery)).toBeUndefined();
    expect(endpointOfSubject(delivery)).toBe(endpointId);
    expect(() => redriveSubject("a.b", endpointId)).toThrow(SubjectError);
  });

  it("a durable selects one redrive subject per endpoint its filters name, none for wh.none.none", () => {
    const other = "00000000-0000-4000-8000-000000000001";
    const filters = [`wh.${ep}.push.>`, `wh.${ep}.issues.>`, endpointGrantSubject(other)];
    expect(redriveFilters(durable, filters)).toEqual([redriveSubject(durable, other), redriveSubject(durable, endpointId)].sort());
    expect(redriveFilters(durable, ["wh.none.none"])).toEqual([]);
  });
});
