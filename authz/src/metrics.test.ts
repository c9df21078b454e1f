import { describe, expect, it } from "vitest";
import { LabelCap, metricsAccess, queryOperation } from "./metrics.js";

describe("LabelCap", () => {
  it("keeps the first N distinct values, counts every later one as _other, and never takes one back", () => {
    const cap = new LabelCap(2);
    expect(["alice", "bob", "carol", "alice", "dave", "bob"].map((v) => cap.value(v))).toEqual(["alice", "bob", "_other", "alice", "_other", "bob"]);
    expect(new LabelCap(0).value("alice")).toBe("_other");
  });
});

describe("queryOperation", () => {
  it("labels a statement by its first keyword from a fixed set, whatever form pg receives it in", () => {
    expect(queryOperation('select "id" from "users"')).toBe("select");
    expect(queryOperation({ text: '  INSERT INTO "x" values ($1)', values: [1] })).toBe("insert");
    expect(queryOperation("(select 1) union (select 2)")).toBe("select");
    expect(queryOperation("vacuum full users")).toBe("other");
    expect(queryOperation(undefined)).toBe("other");
  });
});

describe("metricsAccess", () => {
  const token = "0123456789abcdef-token";
  it("lets anyone in without a token; with one, only its exact bearer", () => {
    expect(metricsAccess(undefined, undefined)).toBe(true);
    expect(metricsAccess(token, `Bearer ${token}`)).toBe(true);
    expect(metricsAccess(token, `bearer ${token}`)).toBe(true);
    for (const header of [undefined, null, "", token, `Bearer ${token}x`, `Bearer ${token.slice(1)}`, "Basic abc", "Bearer "]) {
      expect(metricsAccess(token, header), String(header)).toBe(false);
    }
  });
});
