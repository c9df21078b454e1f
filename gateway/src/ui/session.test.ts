import { describe, expect, it } from "vitest";
import { csrfToken, csrfValid, formatSession, newSessionKey, parseSession, sameOrigin } from "./session.js";

describe("inspector CSRF", () => {
  it("accepts the token's own CSRF value and nothing else", () => {
    const mine = csrfToken("whb_alice");
    expect(csrfValid("whb_alice", mine)).toBe(true);
    expect(csrfValid("whb_bob", mine)).toBe(false);
    expect(csrfValid("whb_alice", mine.slice(1))).toBe(false);
    expect(csrfValid("whb_alice", undefined)).toBe(false);
    expect(csrfValid("whb_alice", "")).toBe(false);
    expect(mine).not.toContain("whb_alice");
  });

  it("refuses a cross-origin Origin, accepts none or the same host", () => {
    expect(sameOrigin(undefined, "http://127.0.0.1:8080/ui/login")).toBe(true);
    expect(sameOrigin("http://127.0.0.1:8080", "http://127.0.0.1:8080/ui/login")).toBe(true);
    expect(sameOrigin("https://broker.example", "http://broker.example/ui/login")).toBe(true);
    expect(sameOrigin("https://evil.example", "http://127.0.0.1:8080/ui/login")).toBe(false);
    expect(sameOrigin("null", "http://127.0.0.1:8080/ui/login")).toBe(false);
  });
});

describe("the GitHub session cookie", () => {
  it("round-trips a fresh key with a refresh token; anything else is no session", () => {
    const s = { key: newSessionKey(), refresh: "whr_abcDEF-123_x" };
    expect(parseSession(formatSession(s))).toEqual(s);
    expect(newSessionKey()).not.toBe(s.key);
    for (const bad of [undefined, "", s.key, `${s.key}.`, `${s.key}.whb_apitoken`, `short.${s.refresh}`, `${s.key}.${s.refresh} x`]) expect(parseSession(bad), String(bad)).toBeUndefined();
  });
});
