import { createHmac } from "node:crypto";
import { SymmetricAlgorithm, createCanonicalRequest, createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from "atlassian-jwt";
import { describe, expect, it } from "vitest";
import { canonicalRequest, jira, queryStringHash } from "./jira.js";
import { NOW_S, digestHeaderCases, expectCode, input } from "./testing.js";

const body = JSON.stringify({ timestamp: 1767225600000, webhookEvent: "jira:issue_created", issue: { key: "WB-1" } });
const DELIVERY = "4c6b2c1e-9f0f-4a8a-b1a7-2f3e4d5c6b7a";

describe("jira admin webhooks (X-Hub-Signature)", () => {
  // No oracle library; node:crypto following Atlassian's "Webhooks" page (secure admin
  // webhooks): `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`.
  digestHeaderCases({
    provider: jira,
    header: "X-Hub-Signature",
    sign: (secret, b) => `sha256=${createHmac("sha256", secret).update(b).digest("hex")}`,
    body,
    extra: { "X-Atlassian-Webhook-Identifier": DELIVERY },
    expected: { event: "jira:issue_created", deliveryId: DELIVERY },
  });
});

describe("jira Atlassian Connect (JWT)", () => {
  // Tokens and qsh from Atlassian's own atlassian-jwt library, not from our code.
  const SECRET = "connect-shared-secret-current";
  const PREVIOUS = "connect-shared-secret-previous";
  const URL = "/webhook/jira/acme/issue-created?user_id=a%20b&b=2&a=1&a=0&lic=none";
  const token = (over: Record<string, unknown> = {}, secret = SECRET, url = URL, method = "POST", alg?: SymmetricAlgorithm) =>
    encodeSymmetric({ iss: "jira:client-key", iat: NOW_S, exp: NOW_S + 180, qsh: createQueryStringHash(fromMethodAndUrl(method, url)), ...over }, secret, alg);
  const verify = (authorization: string | null, secrets: string[] = [SECRET], pathAndQuery = URL, extra: Record<string, unknown> = {}) =>
    jira.verify(
      input({
        body,
        method: "POST",
        pathAndQuery,
        secrets,
        headers: { ...(authorization ? { Authorization: authorization } : {}), "X-Atlassian-Webhook-Identifier": DELIVERY },
        ...extra,
      }),
    );

  it("verifies a Connect JWT; event comes from the verified body", () => {
    expect(verify(`JWT ${token()}`)).toEqual({ event: "jira:issue_created", deliveryId: DELIVERY, verified: true });
  });

  it("accepts the token as a jwt query parameter, which the qsh leaves out", () => {
    expect(verify(null, [SECRET], `${URL}&jwt=${token()}`).verified).toBe(true);
  });

  it("strips the app's context path as Atlassian does with the base URL", () => {
    const qsh = createQueryStringHash(fromMethodAndUrl("POST", URL), false, "https://gw.example.com/webhook/jira/acme");
    const options = { context_path: "/webhook/jira/acme" };
    expect(verify(`JWT ${token({ qsh })}`, [SECRET], URL, { options }).verified).toBe(true);
    expectCode(() => verify(`JWT ${token({ qsh })}`), "signature_invalid", /qsh/);
  });

  it("binds the token to method, path and query through qsh", () => {
    expectCode(() => verify(`JWT ${token()}`, [SECRET], URL.replace("a=0", "a=9")), "signature_invalid", /qsh/);
    expectCode(() => verify(`JWT ${token()}`, [SECRET], URL.replace("issue-created", "issue-deleted")), "signature_invalid", /qsh/);
    expectCode(() => verify(`JWT ${token({}, SECRET, URL, "GET")}`), "signature_invalid", /qsh/);
    expectCode(() => verify(`JWT ${token({ qsh: undefined })}`), "signature_invalid", /qsh/);
  });

  it("does not cover the body: that is Atlassian's scheme, not a bug here", () => {
    const result = jira.verify(input({ body: "{}", method: "POST", pathAndQuery: URL, secrets: [SECRET], headers: { Authorization: `JWT ${token()}` } }));
    expect(result).toEqual({ event: "", deliveryId: null, verified: true });
  });

  it("rejects the wrong secret and a tampered claim", () => {
    expectCode(() => verify(`JWT ${token({}, "another secret")}`), "signature_invalid", /signature/);
    const [h, , s] = token().split(".");
    const forged = Buffer.from(JSON.stringify({ exp: NOW_S + 10_000, qsh: queryStringHash("POST", URL) })).toString("base64url");
    expectCode(() => verify(`JWT ${h}.${forged}.${s}`), "signature_invalid", /signature/);
  });

  it("rejects a missing Authorization header", () => {
    expectCode(() => verify(null), "signature_missing");
  });

  it("rejects malformed tokens and algorithms other than HS256", () => {
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${token().split(".")[1]}.`;
    for (const bad of ["JWT abc", "JWT a.b", "JWT a.b.c.d", "JWT a.b.c!", `JWT ${none}`]) {
      expectCode(() => verify(bad), "signature_invalid");
    }
    expectCode(() => verify(`JWT ${token({}, SECRET, URL, "POST", SymmetricAlgorithm.HS512)}`), "signature_invalid", /HS256/);
    expectCode(() => verify(`Bearer ${token()}`), "signature_missing");
  });

  it("checks exp against now", () => {
    expectCode(() => verify(`JWT ${token({ exp: NOW_S - 1 })}`), "timestamp_out_of_range");
    expectCode(() => verify(`JWT ${token({ exp: NOW_S })}`), "timestamp_out_of_range");
    expectCode(() => verify(`JWT ${token({ exp: undefined })}`), "timestamp_invalid");
    expectCode(() => verify(`JWT ${token({ exp: String(NOW_S + 60) })}`), "timestamp_invalid");
    expect(verify(`JWT ${token({ exp: NOW_S + 1 })}`).verified).toBe(true);
  });

  it("accepts the previous shared secret during rotation, and no secret outside the list", () => {
    expect(verify(`JWT ${token({}, PREVIOUS)}`, [SECRET, PREVIOUS]).verified).toBe(true);
    expectCode(() => verify(`JWT ${token({}, PREVIOUS)}`), "signature_invalid");
  });
});

describe("jira canonical request (qsh)", () => {
  it("matches Atlassian's documented examples", () => {
    // developer.atlassian.com, "Query string hash": GET / ?param=foo and POST /user.
    expect(canonicalRequest("get", "/?param=foo")).toBe("GET&/&param=foo");
    expect(canonicalRequest("POST", "/user")).toBe("POST&/user&");
  });

  it("agrees with atlassian-jwt on awkward requests", () => {
    const urls = [
      "/",
      "",
      "/path/",
      "/a&b/c?x=y",
      "/rest/api?jql=project%20%3D%20WB%20AND%20text~%22a*b%22&fields=summary&fields=key",
      "/p?plus=a+b&bang=!&quote='x'&paren=(y)&tilde=~&unicode=%C3%A9t%C3%A9&slash=%2F",
      "/p?empty=&flag&jwt=abc&z=1&A=2",
    ];
    for (const url of urls) {
      expect(canonicalRequest("PUT", url), url).toBe(createCanonicalRequest(fromMethodAndUrl("PUT", url || "/")));
      expect(queryStringHash("PUT", url), url).toBe(createQueryStringHash(fromMethodAndUrl("PUT", url || "/")));
    }
  });

  it("strips the context path only at a segment boundary", () => {
    expect(canonicalRequest("POST", "/hooks/acme/x?a=1", "/hooks/acme")).toBe("POST&/x&a=1");
    expect(canonicalRequest("POST", "/hooks/acme", "/hooks/acme/")).toBe("POST&/&");
    expect(canonicalRequest("POST", "/hooks/acme2/x", "/hooks/acme")).toBe("POST&/hooks/acme2/x&");
  });
});
