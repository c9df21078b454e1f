import { describe, expect, it } from "vitest";
import { InFlight, resumePoint, sseComment, sseEvent } from "./sse.js";

describe("sseEvent", () => {
  it("writes id, event and one data line per line of the payload", () => {
    expect(sseEvent(42, "message", '{"a":1}')).toBe('id: 42\nevent: message\ndata: {"a":1}\n\n');
    expect(sseEvent(7, "message", '{\r\n  "a": 1\r}\n')).toBe('id: 7\nevent: message\ndata: {\ndata:   "a": 1\ndata: }\ndata: \n\n');
    expect(sseEvent(undefined, "error", "{}")).toBe("event: error\ndata: {}\n\n");
  });

  it("keeps comments on one line", () => {
    expect(sseComment("a\nb")).toBe(": a b\n\n");
  });
});

describe("resumePoint", () => {
  it("prefers Last-Event-ID, falls back to after_id, and flags what is not an id", () => {
    expect(resumePoint("12", 3)).toBe(12);
    expect(resumePoint(undefined, 3)).toBe(3);
    expect(resumePoint("", undefined)).toBeUndefined();
    for (const bad of ["abc", "-1", "1.5", "99999999999999999"]) expect(resumePoint(bad, undefined), bad).toBeNaN();
  });
});

describe("InFlight", () => {
  it("bounds the window, frees on settlement and when the ack wait runs out, restarts on in_progress", () => {
    const w = new InFlight<string>(2, 1_000);
    w.add(1, "a", 0);
    w.add(2, "b", 500);
    expect(w.free(600)).toBe(0);
    expect(w.delete(1)).toBe(true);
    expect(w.free(600)).toBe(1);
    w.touch(2, 900); // due at 1900 now
    expect(w.free(1_600)).toBe(1);
    expect(w.expire(1_600)).toBe(1_900);
    expect(w.free(1_900)).toBe(2);
    w.add(3, "c", 0);
    expect(w.takeAll()).toEqual(["c"]);
    expect(w.size).toBe(0);
  });
});
