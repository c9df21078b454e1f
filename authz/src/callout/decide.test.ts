import { describe, expect, it } from "vitest";
import { durableName, userInboxPrefix } from "../naming.js";
import { decide, isDenied } from "./decide.js";

const userId = "0b9f4c1e-2a3d-4e5f-8a7b-6c5d4e3f2a1b";
const inboxToken = "0123456789abcdef0123456789abcdef";
const me = { userId, inboxToken };
const other = "11111111-2222-4333-8444-555555555555";

describe("decide", () => {
  it("allows pull, info and acks of his own durables only, and his inbox", () => {
    const d = decide(me, [durableName(userId), durableName(userId, "ci")], "WEBHOOKS");
    if (isDenied(d)) throw new Error(d.deny);
    const def = durableName(userId);
    expect(d.pub.allow).toContain(`APPJS.API.CONSUMER.MSG.NEXT.WEBHOOKS.${def}`);
    expect(d.pub.allow).toContain(`APPJS.API.CONSUMER.INFO.WEBHOOKS.${def}`);
    expect(d.pub.allow).toContain(`$JS.ACK.WEBHOOKS.${def}.>`);
    expect(d.pub.allow).toHaveLength(6);
    expect(d.pub.deny).toEqual([]);
    expect(d.sub.allow).toEqual([`${userInboxPrefix(userId, inboxToken)}.>`]);
    expect(d.inboxPrefix).toBe(`_INBOX_${userId.replace(/-/g, "")}_${inboxToken}`);
    // The user JWT carries the CLIENTS account's limits (nats-server 2.10 applies the account's).
    expect(d.limits).toEqual({ subs: 256, payload: 64 * 1024, data: -1 });
  });

  it("never names another user's durable, a stream API, or a wildcard durable", () => {
    const d = decide(me, [durableName(userId)], "WEBHOOKS");
    if (isDenied(d)) throw new Error(d.deny);
    const all = [...d.pub.allow, ...d.sub.allow].join("\n");
    expect(all).not.toContain(other.replace(/-/g, ""));
    expect(all).not.toMatch(/STREAM\.|DIRECT\.|CREATE|DELETE|\$JS\.API/);
    for (const s of d.pub.allow) expect(s.split(".").slice(0, -1).join(".")).not.toMatch(/[*>]/);
  });

  it("denies all publishing with '>' rather than an empty (unrestricted) allow list", () => {
    const d = decide(me, [], "WEBHOOKS");
    if (isDenied(d)) throw new Error(d.deny);
    expect(d.pub).toEqual({ allow: [], deny: [">"] });
    expect(d.sub.allow).toHaveLength(1);
  });

  it("deduplicates and sorts", () => {
    const a = decide(me, [durableName(userId, "b"), durableName(userId, "a"), durableName(userId, "a")], "S");
    if (isDenied(a)) throw new Error(a.deny);
    expect(a.pub.allow).toHaveLength(6);
    expect(a.pub.allow[0]).toContain("_a");
  });

  it.each([
    ["wildcard durable", me, ["u_x_*"], "WEBHOOKS"],
    ["'>' durable", me, [">"], "WEBHOOKS"],
    ["dotted durable", me, ["a.b"], "WEBHOOKS"],
    ["wildcard stream", me, ["d"], "*"],
    ["dotted stream", me, ["d"], "A.B"],
    ["no user id", { userId: "", inboxToken }, ["d"], "WEBHOOKS"],
    ["non-uuid user", { userId: "admin", inboxToken }, ["d"], "WEBHOOKS"],
    ["missing inbox token", { userId, inboxToken: "" }, ["d"], "WEBHOOKS"],
    ["wildcard inbox token", { userId, inboxToken: ">" }, ["d"], "WEBHOOKS"],
  ])("denies a %s", (_, principal, durables, stream) => {
    const d = decide(principal, durables, stream);
    expect(isDenied(d)).toBe(true);
  });
});
