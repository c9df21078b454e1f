/** Decision tables for the access rules: each row is one case a route or the CLI will meet. */
import { describe, expect, it } from "vitest";
import { parseWebhookPath } from "../subjects.js";
import {
  bodyLimitProblem,
  checkEndpointPlacement,
  checkReservationPlacement,
  CLI_ACTOR,
  endpointAccess,
  mayCreateEndpoint,
  mayMakePublic,
  organizationAccess,
  pathKey,
  placementViolations,
  startTimeProblem,
  type Access,
  type Actor,
  type OwnerRef,
  type PlacedEndpoint,
  type PlacedReservation,
} from "./index.js";

/** As the services do it: the path as sent, decoded by the ingest parser, then folded. */
const key = (path: string) => pathKey(parseWebhookPath(path));

const alice: OwnerRef = { type: "user", id: "u-alice", name: "alice" };
const mallory: OwnerRef = { type: "user", id: "u-mallory", name: "mallory" };
const acme: OwnerRef = { type: "organization", id: "o-acme", name: "acme" };

const endpoints: PlacedEndpoint[] = [
  { id: "e-alice", key: key("alice/gh"), owner: alice },
  { id: "e-acme", key: key("acme/hooks"), owner: acme },
];
const reservations: PlacedReservation[] = [{ id: "r-acme", key: key("github/acme"), owner: acme }];

describe("where an endpoint may be placed", () => {
  const table: [string, OwnerRef, "ok" | "forbidden" | "conflict"][] = [
    // capture, denial and forgery under another owner's endpoint, however it is spelled
    ["alice/gh/repo1", mallory, "conflict"],
    ["Alice/GH/repo1", mallory, "conflict"],
    ["%61lice/gh/x", mallory, "conflict"],
    ["ａｌｉｃｅ/gh/x", mallory, "conflict"],
    ["alice/gh/", mallory, "conflict"],
    ["alice/GH", mallory, "conflict"],
    ["alice", mallory, "conflict"], // an ancestor would catch every path below it that alice/gh does not serve
    ["acme/hooks/x", mallory, "conflict"],
    ["acme", alice, "conflict"],
    // the owner may nest under his own endpoint
    ["alice/gh/repo1", alice, "ok"],
    ["alice", alice, "ok"],
    ["acme/hooks/special", acme, "ok"],
    // siblings are not nested: whole segments
    ["alice/ghx", mallory, "ok"],
    ["alice2/gh", mallory, "ok"],
    // reservations: inside only the holder; an ancestor of one for nobody else
    ["github/acme/repo", mallory, "forbidden"],
    ["GitHub/ACME/repo", mallory, "forbidden"],
    ["github/%61cme", mallory, "forbidden"],
    ["github", mallory, "conflict"],
    ["github/acme/repo", acme, "ok"],
    ["github/acme2", mallory, "ok"],
    // namespaces
    ["u/alice/gh", alice, "ok"],
    ["u/alice/gh", mallory, "forbidden"],
    ["U/Alice/gh", mallory, "forbidden"],
    ["u/alice", mallory, "forbidden"],
    ["u", alice, "forbidden"],
    ["o", acme, "forbidden"],
    ["o/acme/ci", acme, "ok"],
    ["o/acme/ci", alice, "forbidden"],
    ["u/acme/ci", acme, "forbidden"],
    ["o/alice/ci", alice, "forbidden"],
  ];
  it.each(table)("%s for %o: %s", (path, owner, want) => {
    const got = checkEndpointPlacement({ key: key(path), owner, endpoints, reservations });
    expect(got.ok ? "ok" : got.code).toBe(want);
  });

  it("re-checking an endpoint skips itself", () => {
    expect(checkEndpointPlacement({ key: key("alice/gh"), owner: mallory, endpoints, reservations, self: "e-alice" }).ok).toBe(true);
  });

  it("never names the other owner's endpoint or owner", () => {
    const got = checkEndpointPlacement({ key: key("alice"), owner: mallory, endpoints, reservations });
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.reason).not.toMatch(/alice\/gh|u-alice|e-alice/);
  });
});

describe("where a reservation may be placed", () => {
  const table: [string, OwnerRef, "ok" | "conflict"][] = [
    ["gitlab/acme", acme, "ok"],
    ["github/acme", acme, "conflict"], // already
    ["github/acme/x", acme, "ok"], // inside its own
    ["github/acme/x", alice, "conflict"],
    ["github", alice, "conflict"],
    ["alice/gh/x", acme, "conflict"], // alice's endpoint is there
    ["alice", alice, "ok"],
    ["u/alice", alice, "conflict"], // namespaces are not reservable
    ["o/acme", acme, "conflict"],
  ];
  it.each(table)("%s for %o: %s", (path, owner, want) => {
    const got = checkReservationPlacement({ key: key(path), owner, endpoints, reservations });
    expect(got.ok ? "ok" : got.code).toBe(want);
  });
});

describe("who may read and manage an endpoint", () => {
  const user = (id: string, roles: Actor["roles"] = {}): Actor => ({ userId: id, name: id, isAdmin: false, roles });
  const actors: Record<string, Actor> = {
    owner: user("u-alice"),
    outsider: user("u-mallory"),
    orgAdmin: user("u-a", { "o-acme": "admin" }),
    orgMember: user("u-m", { "o-acme": "member" }),
    orgViewer: user("u-v", { "o-acme": "viewer" }),
    globalAdmin: { userId: "u-root", name: "root", isAdmin: true, roles: {} },
    cli: CLI_ACTOR,
  };
  const kinds = {
    own: { owner: alice, isPublic: false, key: key("alice/gh") },
    ownPublic: { owner: alice, isPublic: true, key: key("alice/pub") },
    org: { owner: acme, isPublic: false, key: key("acme/hooks") },
    orgInNamespace: { owner: acme, isPublic: false, key: key("o/acme/ci") },
    orgInReservation: { owner: acme, isPublic: false, key: key("github/acme/repo") },
    orgPublic: { owner: acme, isPublic: true, key: key("acme/pub") },
  };
  const table: Record<keyof typeof actors, Record<keyof typeof kinds, Access>> = {
    owner: { own: "manage", ownPublic: "manage", org: "none", orgInNamespace: "none", orgInReservation: "none", orgPublic: "read" },
    outsider: { own: "none", ownPublic: "read", org: "none", orgInNamespace: "none", orgInReservation: "none", orgPublic: "read" },
    orgAdmin: { own: "none", ownPublic: "read", org: "manage", orgInNamespace: "manage", orgInReservation: "manage", orgPublic: "manage" },
    orgMember: { own: "none", ownPublic: "read", org: "read", orgInNamespace: "manage", orgInReservation: "manage", orgPublic: "read" },
    orgViewer: { own: "none", ownPublic: "read", org: "read", orgInNamespace: "read", orgInReservation: "read", orgPublic: "read" },
    globalAdmin: { own: "manage", ownPublic: "manage", org: "manage", orgInNamespace: "manage", orgInReservation: "manage", orgPublic: "manage" },
    cli: { own: "manage", ownPublic: "manage", org: "manage", orgInNamespace: "manage", orgInReservation: "manage", orgPublic: "manage" },
  };
  for (const [who, row] of Object.entries(table)) {
    it(`${who}`, () => {
      const got = Object.fromEntries(Object.keys(kinds).map((k) => [k, endpointAccess(actors[who]!, kinds[k as keyof typeof kinds], reservations)]));
      expect(got).toEqual(row);
    });
  }

  it("organizations: admins manage, members and viewers read, others see nothing", () => {
    expect(Object.fromEntries(Object.entries(actors).map(([w, a]) => [w, organizationAccess(a, "o-acme")]))).toEqual({
      owner: "none",
      outsider: "none",
      orgAdmin: "manage",
      orgMember: "read",
      orgViewer: "read",
      globalAdmin: "manage",
      cli: "manage",
    });
  });

  /** Each case: who, for which owner, with what (path or provider) → allow / forbidden / not_found. */
  const expectVerdicts = (
    cases: [keyof typeof actors, OwnerRef, string, string][],
    decide: (who: keyof typeof actors, owner: OwnerRef, what: string) => ReturnType<typeof mayCreateEndpoint>,
  ) => {
    const got = cases.map(([who, owner, what]) => {
      const d = decide(who, owner, what);
      return [who, owner.name, what, d.allow ? "allow" : d.code];
    });
    expect(got).toEqual(cases.map(([who, owner, what, want]) => [who, owner.name, what, want]));
  };

  it("creation: for oneself anywhere free; for an org by its admins, its members inside its space", () => {
    const cases: [keyof typeof actors, OwnerRef, string, string][] = [
      ["owner", alice, "anything/new", "allow"],
      ["outsider", alice, "anything/new", "forbidden"],
      ["orgAdmin", acme, "anything/new", "allow"],
      ["orgMember", acme, "anything/new", "forbidden"],
      ["orgMember", acme, "o/acme/new", "allow"],
      ["orgMember", acme, "github/acme/new", "allow"],
      ["orgViewer", acme, "o/acme/new", "forbidden"],
      ["outsider", acme, "o/acme/new", "not_found"],
      ["globalAdmin", alice, "anything/new", "allow"],
      ["cli", acme, "anything/new", "allow"],
    ];
    expectVerdicts(cases, (who, owner, path) => mayCreateEndpoint(actors[who]!, owner, key(path), reservations));
  });

  it("public is a privilege: global admins; org admins for the org's signed endpoints", () => {
    const cases: [keyof typeof actors, OwnerRef, string, string][] = [
      ["owner", alice, "github", "forbidden"],
      ["owner", alice, "none", "forbidden"],
      ["orgAdmin", acme, "github", "allow"],
      ["orgAdmin", acme, "none", "forbidden"],
      ["orgMember", acme, "github", "forbidden"],
      ["orgViewer", acme, "github", "forbidden"],
      ["globalAdmin", alice, "none", "allow"],
      ["cli", acme, "none", "allow"],
    ];
    expectVerdicts(cases, (who, owner, provider) => mayMakePublic(actors[who]!, owner, provider));
  });
});

describe("limits", () => {
  it("body limits: within 64 MiB and within the server's max_payload minus the header allowance", () => {
    const MiB = 1024 * 1024;
    const cases: [number, number | undefined, boolean][] = [
      [1, undefined, true],
      [0, undefined, false],
      [1.5, undefined, false],
      [64 * MiB, undefined, true],
      [64 * MiB + 1, undefined, false],
      [25 * MiB, 32 * MiB, true],
      [32 * MiB, 32 * MiB, false], // no room for headers
      [MiB - 64 * 1024, MiB, true],
      [MiB - 64 * 1024 + 1, MiB, false],
    ];
    for (const [n, maxPayload, ok] of cases) expect(bodyLimitProblem(n, maxPayload) === undefined, `${n} under ${maxPayload}`).toBe(ok);
  });

  it("consumer start times: from 1970 to 9999", () => {
    expect(startTimeProblem(new Date("0000-01-01T00:00:00Z"))).toMatch(/1970/);
    expect(startTimeProblem(new Date("1969-12-31T23:59:59Z"))).toMatch(/1970/);
    expect(startTimeProblem(new Date("1970-01-01T00:00:00Z"))).toBeUndefined();
    expect(startTimeProblem(new Date("2026-11-01T00:00:00Z"))).toBeUndefined();
    expect(startTimeProblem(new Date("nonsense"))).toMatch(/valid/);
  });
});

describe("reporting existing data that breaks the rules", () => {
  it("names each side of a nested pair, namespace squatters and endpoints inside another's reservation (siblings are fine)", () => {
    const found = placementViolations(
      [
        { id: "e-alice", key: key("alice/gh"), owner: alice },
        { id: "e-mallory", key: key("Alice/gh/repo1"), owner: mallory },
        { id: "e-squat", key: key("u/alice/x"), owner: mallory },
        { id: "e-inside", key: key("github/acme/x"), owner: mallory },
        { id: "e-fine", key: key("alice/gh/own"), owner: alice },
      ],
      reservations,
    );
    expect(found.map((v) => [v.endpointId, v.rule, v.with])).toEqual([
      ["e-alice", "nested", ["e-mallory"]],
      ["e-mallory", "nested", ["e-alice"]],
      ["e-squat", "namespace", []],
      ["e-inside", "reservation", ["r-acme"]],
    ]);
  });
});
