import { describe, expect, it } from "vitest";
import { concernedUsers, endpointChanged, ENDPOINTS_CHANGED_SUBJECT, GRANTS_CHANGED_SUBJECT, grantsChanged } from "./announcements.js";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("announcements", () => {
  it("have one payload per subject, whoever sends them", () => {
    expect(grantsChanged({ user_ids: ["u1"], change: "member_removed", organization_id: "o1" })).toEqual({
      subject: GRANTS_CHANGED_SUBJECT,
      payload: '{"user_ids":["u1"],"change":"member_removed","organization_id":"o1"}',
    });
    expect(grantsChanged()).toEqual({ subject: GRANTS_CHANGED_SUBJECT, payload: '{"user_ids":[],"change":"unspecified"}' });
    expect(endpointChanged({ id: "e1", change: "deleted" })).toEqual({ subject: ENDPOINTS_CHANGED_SUBJECT, payload: '{"id":"e1","change":"deleted"}' });
  });

  it("concern the users a grants change names, and everyone otherwise", () => {
    expect(concernedUsers(GRANTS_CHANGED_SUBJECT, bytes(grantsChanged({ user_ids: ["a", "b"], change: "x" }).payload))).toEqual(["a", "b"]);
    expect(concernedUsers(GRANTS_CHANGED_SUBJECT, bytes(grantsChanged({ change: "x" }).payload))).toBe("all");
    expect(concernedUsers(GRANTS_CHANGED_SUBJECT, bytes(""))).toBe("all");
    expect(concernedUsers(GRANTS_CHANGED_SUBJECT, bytes('{"user_ids":[1,null]}'))).toBe("all");
    expect(concernedUsers(ENDPOINTS_CHANGED_SUBJECT, bytes(endpointChanged({ id: "e1", change: "created" }).payload))).toBe("all");
  });
});
