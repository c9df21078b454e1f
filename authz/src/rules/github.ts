/**
 * Access that follows GitHub, as pure decisions: which memberships of a linked organization a
 * user should have given what GitHub says, which manual membership changes a linked organization
 * refuses, and which repository a repository-scoped endpoint's path names.
 *
 * The model (README, "Access that follows GitHub"):
 * - an organization linked to a GitHub organization takes its `admin` and `member` roles from
 *   GitHub (GitHub admin → admin, member → member); `viewer` stays a broker-only role;
 * - a signed-in user's GitHub memberships are confirmed at sign-in and then every
 *   GITHUB_CACHE_TTL; each confirmation is valid for one TTL, so when GitHub cannot be asked in
 *   time, the access ends (fails closed);
 * - a repository-scoped endpoint lives at `github/<GitHub org>/<repo>/...` in an organization
 *   linked to that GitHub organization; a member reads it only while GitHub says he may read
 *   `<GitHub org>/<repo>` (his own token, cached for the same TTL).
 */
import type { MembershipSource, OrgRole } from "../db/schema/memberships.js";

export type GitHubRole = "admin" | "member";

/** The first segment of repository-scoped endpoints' paths: `github/<org>/<repo>/...`. */
export const GITHUB_ROOT = "github";

export function roleFromGitHub(role: GitHubRole): OrgRole {
  return role === "admin" ? "admin" : "member";
}

export interface LinkedOrg {
  id: string;
  githubOrg: string;
}

export interface CurrentMembership {
  orgId: string;
  role: OrgRole;
  source: MembershipSource;
}

export interface MembershipPlan {
  /** Set to this role, from GitHub (confirmed again for one TTL). */
  upsert: { orgId: string; role: OrgRole }[];
  /** Memberships to end. */
  remove: string[];
  /** Organizations where what the user may do changed (added, removed, other role). */
  changed: string[];
}

/**
 * What a user's memberships in linked organizations become, given his active GitHub
 * memberships. In a linked organization GitHub decides admin and member: a GitHub member gets
 * GitHub's role; anyone else keeps only a broker `viewer` membership (GitHub ones and broker
 * admin/member ones end). Organizations that are not linked are not touched.
 */
export function planMemberships(linked: readonly LinkedOrg[], current: readonly CurrentMembership[], github: readonly { org: string; role: GitHubRole }[]): MembershipPlan {
  const plan: MembershipPlan = { upsert: [], remove: [], changed: [] };
  const onGitHub = new Map(github.map((m) => [m.org.toLowerCase(), m.role]));
  for (const org of linked) {
    const gh = onGitHub.get(org.githubOrg.toLowerCase());
    const cur = current.find((c) => c.orgId === org.id);
    if (gh) {
      const role = roleFromGitHub(gh);
      plan.upsert.push({ orgId: org.id, role });
      if (!cur || cur.role !== role) plan.changed.push(org.id);
    } else if (cur && (cur.source === "github" || cur.role !== "viewer")) {
      plan.remove.push(org.id);
      plan.changed.push(org.id);
    }
  }
  return plan;
}

/**
 * May a membership of a linked organization be changed by hand (API or CLI)? Only viewers: the
 * admin and member roles, and memberships GitHub gave, are GitHub's to change.
 */
export function manualMembershipChange(
  linkedTo: string | null,
  change: { to?: OrgRole; current?: { role: OrgRole; source: MembershipSource } },
): { ok: true } | { ok: false; reason: string } {
  if (!linkedTo) return { ok: true };
  if (change.current?.source === "github") {
    return { ok: false, reason: `this membership comes from the GitHub organization ${linkedTo}; change it on GitHub` };
  }
  if (change.to && change.to !== "viewer") {
    return { ok: false, reason: `admins and members of this organization come from the GitHub organization ${linkedTo}; only viewers are added here` };
  }
  return { ok: true };
}

/**
 * The repository a repository-scoped endpoint names: its path must be
 * `github/<the linked GitHub org>/<repo>[/...]`. `key` is the comparison form (pathKey),
 * `segments` the stored spelling (the repository keeps it).
 */
export function repositoryOfPath(
  key: readonly string[],
  segments: readonly string[],
  githubOrg: string | null,
): { ok: true; repo: string } | { ok: false; reason: string } {
  if (!githubOrg) return { ok: false, reason: "only endpoints of an organization linked to a GitHub organization can be repository-scoped" };
  const want = `${GITHUB_ROOT}/${githubOrg}/<repository>/...`;
  if (key.length < 3 || key[0] !== GITHUB_ROOT || key[1] !== githubOrg.toLowerCase()) {
    return { ok: false, reason: `a repository-scoped endpoint's path must be /webhook/${want}` };
  }
  const repo = segments[2]!;
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(repo)) return { ok: false, reason: `${repo} is not a GitHub repository name` };
  return { ok: true, repo: `${githubOrg}/${repo}` };
}

/** A GitHub organization name as GitHub allows them (1-39 letters, digits, single hyphens). */
export function isGitHubOrgName(name: string): boolean {
  return /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/.test(name);
}
