import { describe, expect, it } from "vitest";
import { isGitHubOrgName, manualMembershipChange, planMemberships, repositoryOfPath, roleFromGitHub } from "./github.js";
import { pathKey } from "./paths.js";

const acme = { id: "o1", githubOrg: "Acme" };
const beta = { id: "o2", githubOrg: "beta" };

describe("GitHub access rules", () => {
  it("maps GitHub's roles: admin → admin, member → member", () => {
    expect(roleFromGitHub("admin")).toBe("admin");
    expect(roleFromGitHub("member")).toBe("member");
  });

  it("a GitHub member of a linked org gets GitHub's role (org names compared without case)", () => {
    const plan = planMemberships([acme, beta], [], [{ org: "ACME", role: "admin" }, { org: "unlinked", role: "admin" }]);
    expect(plan).toEqual({ upsert: [{ orgId: "o1", role: "admin" }], remove: [], changed: ["o1"] });
  });

  it("an unchanged membership is confirmed again but is no change; a new role is one", () => {
    const current = [{ orgId: "o1", role: "member" as const, source: "github" as const }];
    expect(planMemberships([acme], current, [{ org: "acme", role: "member" }]).changed).toEqual([]);
    expect(planMemberships([acme], current, [{ org: "acme", role: "admin" }])).toEqual({ upsert: [{ orgId: "o1", role: "admin" }], remove: [], changed: ["o1"] });
  });

  it("removed on GitHub: the GitHub membership ends; a broker viewer stays; a broker admin/member of a linked org ends", () => {
    expect(planMemberships([acme], [{ orgId: "o1", role: "member", source: "github" }], [])).toEqual({ upsert: [], remove: ["o1"], changed: ["o1"] });
    expect(planMemberships([acme], [{ orgId: "o1", role: "viewer", source: "broker" }], [])).toEqual({ upsert: [], remove: [], changed: [] });
    expect(planMemberships([acme], [{ orgId: "o1", role: "admin", source: "broker" }], []).remove).toEqual(["o1"]);
  });

  it("a broker viewer who joins on GitHub becomes a GitHub member", () => {
    expect(planMemberships([acme], [{ orgId: "o1", role: "viewer", source: "broker" }], [{ org: "acme", role: "member" }]).changed).toEqual(["o1"]);
  });

  it("organizations that are not linked are never touched", () => {
    expect(planMemberships([], [{ orgId: "o9", role: "admin", source: "broker" }], [])).toEqual({ upsert: [], remove: [], changed: [] });
  });

  it("manual changes in a linked org: viewers only; GitHub's memberships are GitHub's", () => {
    expect(manualMembershipChange(null, { to: "admin" })).toEqual({ ok: true });
    expect(manualMembershipChange("acme", { to: "viewer" })).toEqual({ ok: true });
    expect(manualMembershipChange("acme", { to: "member" }).ok).toBe(false);
    expect(manualMembershipChange("acme", { current: { role: "member", source: "github" } }).ok).toBe(false);
    expect(manualMembershipChange("acme", { current: { role: "viewer", source: "broker" } })).toEqual({ ok: true });
  });

  it("a repository-scoped path is github/<linked org>/<repo>/...; the repository keeps its spelling", () => {
    const at = (p: string, org: string | null) => repositoryOfPath(pathKey(p.split("/")), p.split("/"), org);
    expect(at("github/acme/Widgets", "Acme")).toEqual({ ok: true, repo: "Acme/Widgets" });
    expect(at("GitHub/ACME/widgets/push", "acme")).toEqual({ ok: true, repo: "acme/widgets" });
    expect(at("github/acme", "acme").ok).toBe(false);
    expect(at("github/other/widgets", "acme").ok).toBe(false);
    expect(at("gh/acme/widgets", "acme").ok).toBe(false);
    expect(at("github/acme/widgets", null).ok).toBe(false);
    expect(at("github/acme/a b", "acme").ok).toBe(false);
  });

  it("GitHub organization names", () => {
    for (const ok of ["acme", "Acme-Corp", "a", "a".repeat(39)]) expect(isGitHubOrgName(ok), ok).toBe(true);
    for (const bad of ["", "-acme", "acme-", "ac--me", "a".repeat(40), "acme/x", "ac me"]) expect(isGitHubOrgName(bad), bad).toBe(false);
  });
});
