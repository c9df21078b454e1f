/**
 * Response bodies of the fake GitHub, typed with GitHub's published REST description
 * (@octokit/openapi-types): every required field of the real schema is present, so the broker's
 * client is tested against the shape GitHub documents, not against what the broker happens to read.
 * The OAuth endpoints (github.com/login/...) are not in the REST description: their shapes follow
 * GitHub's OAuth documentation and are typed here.
 */
import type { components } from "@octokit/openapi-types";

export type PrivateUser = components["schemas"]["private-user"];
export type SimpleUser = components["schemas"]["simple-user"];
export type OrganizationSimple = components["schemas"]["organization-simple"];
export type OrgMembership = components["schemas"]["org-membership"];
export type FullRepository = components["schemas"]["full-repository"];
export type BasicError = components["schemas"]["basic-error"];

/** `POST /login/oauth/access_token` on success (expiring tokens add the refresh fields). */
export interface OAuthTokenResponse {
  access_token: string;
  token_type: "bearer";
  scope: string;
  expires_in?: number;
  refresh_token?: string;
  refresh_token_expires_in?: number;
}

/** `POST /login/oauth/access_token` failures: GitHub answers them with status 200. */
export interface OAuthErrorResponse {
  error: string;
  error_description: string;
  error_uri: string;
  /** slow_down: the new minimum interval. */
  interval?: number;
}

/** `POST /login/device/code`. */
export interface DeviceCodeResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  expires_in: number;
  interval: number;
}

export interface Account {
  id: number;
  login: string;
  name: string | null;
}

const DATE = "2011-01-25T18:44:36Z";

function userUrls(api: string, web: string, login: string) {
  const u = `${api}/users/${login}`;
  return {
    url: u,
    html_url: `${web}/${login}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
  };
}

export function simpleUser(api: string, web: string, a: Account, type: "User" | "Organization" = "User"): SimpleUser {
  return {
    login: a.login,
    id: a.id,
    node_id: Buffer.from(`04:${type}${a.id}`).toString("base64"),
    avatar_url: `${web}/avatars/u/${a.id}?v=4`,
    gravatar_id: "",
    ...userUrls(api, web, a.login),
    type,
    site_admin: false,
  };
}

export function privateUser(api: string, web: string, a: Account): PrivateUser {
  return {
    ...simpleUser(api, web, a),
    name: a.name,
    company: null,
    blog: null,
    location: null,
    email: null,
    hireable: null,
    bio: null,
    public_repos: 0,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: DATE,
    updated_at: DATE,
    private_gists: 0,
    total_private_repos: 0,
    owned_private_repos: 0,
    disk_usage: 0,
    collaborators: 0,
    two_factor_authentication: true,
  };
}

export function organizationSimple(api: string, org: Account): OrganizationSimple {
  const u = `${api}/orgs/${org.login}`;
  return {
    login: org.login,
    id: org.id,
    node_id: Buffer.from(`04:Organization${org.id}`).toString("base64"),
    url: u,
    repos_url: `${u}/repos`,
    events_url: `${u}/events`,
    hooks_url: `${u}/hooks`,
    issues_url: `${u}/issues`,
    members_url: `${u}/members{/member}`,
    public_members_url: `${u}/public_members{/member}`,
    avatar_url: `${api}/avatars/o/${org.id}?v=4`,
    description: null,
  };
}

export function orgMembership(api: string, web: string, org: Account, user: Account, role: "admin" | "member", state: "active" | "pending"): OrgMembership {
  return {
    url: `${api}/orgs/${org.login}/memberships/${user.login}`,
    state,
    role,
    organization_url: `${api}/orgs/${org.login}`,
    organization: organizationSimple(api, org),
    user: simpleUser(api, web, user),
  };
}

export function fullRepository(
  api: string,
  web: string,
  repo: { id: number; owner: Account; ownerType: "User" | "Organization"; name: string; private: boolean },
  permissions: { admin: boolean; maintain: boolean; push: boolean; triage: boolean; pull: boolean },
): FullRepository {
  const full = `${repo.owner.login}/${repo.name}`;
  const u = `${api}/repos/${full}`;
  const host = new URL(web).host;
  return {
    id: repo.id,
    node_id: Buffer.from(`010:Repository${repo.id}`).toString("base64"),
    name: repo.name,
    full_name: full,
    owner: simpleUser(api, web, repo.owner, repo.ownerType),
    private: repo.private,
    html_url: `${web}/${full}`,
    description: null,
    fork: false,
    url: u,
    archive_url: `${u}/{archive_format}{/ref}`,
    assignees_url: `${u}/assignees{/user}`,
    blobs_url: `${u}/git/blobs{/sha}`,
    branches_url: `${u}/branches{/branch}`,
    collaborators_url: `${u}/collaborators{/collaborator}`,
    comments_url: `${u}/comments{/number}`,
    commits_url: `${u}/commits{/sha}`,
    compare_url: `${u}/compare/{base}...{head}`,
    contents_url: `${u}/contents/{+path}`,
    contributors_url: `${u}/contributors`,
    deployments_url: `${u}/deployments`,
    downloads_url: `${u}/downloads`,
    events_url: `${u}/events`,
    forks_url: `${u}/forks`,
    git_commits_url: `${u}/git/commits{/sha}`,
    git_refs_url: `${u}/git/refs{/sha}`,
    git_tags_url: `${u}/git/tags{/sha}`,
    git_url: `git://${host}/${full}.git`,
    issue_comment_url: `${u}/issues/comments{/number}`,
    issue_events_url: `${u}/issues/events{/number}`,
    issues_url: `${u}/issues{/number}`,
    keys_url: `${u}/keys{/key_id}`,
    labels_url: `${u}/labels{/name}`,
    languages_url: `${u}/languages`,
    merges_url: `${u}/merges`,
    milestones_url: `${u}/milestones{/number}`,
    notifications_url: `${u}/notifications{?since,all,participating}`,
    pulls_url: `${u}/pulls{/number}`,
    releases_url: `${u}/releases{/id}`,
    ssh_url: `git@${host}:${full}.git`,
    stargazers_url: `${u}/stargazers`,
    statuses_url: `${u}/statuses/{sha}`,
    subscribers_url: `${u}/subscribers`,
    subscription_url: `${u}/subscription`,
    tags_url: `${u}/tags`,
    teams_url: `${u}/teams`,
    trees_url: `${u}/git/trees{/sha}`,
    clone_url: `${web}/${full}.git`,
    mirror_url: null,
    hooks_url: `${u}/hooks`,
    svn_url: `${web}/${full}`,
    homepage: null,
    language: null,
    forks_count: 0,
    stargazers_count: 0,
    watchers_count: 0,
    size: 0,
    default_branch: "main",
    open_issues_count: 0,
    has_issues: true,
    has_projects: true,
    has_wiki: true,
    has_pages: false,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: repo.private ? "private" : "public",
    pushed_at: DATE,
    created_at: DATE,
    updated_at: DATE,
    permissions,
    subscribers_count: 0,
    network_count: 0,
    license: null,
    forks: 0,
    open_issues: 0,
    watchers: 0,
  };
}
