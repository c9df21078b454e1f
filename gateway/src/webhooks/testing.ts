/** Helpers for the verifier unit tests (not imported by production code). */
import { expect, it } from "vitest";
import { VerificationError, type Provider, type VerificationCode, type VerifyInput } from "./types.js";

/** 2026-01-01T00:00:00Z; tests pass `now` explicitly, never the wall clock. */
export const NOW = Date.UTC(2026, 0, 1);
export const NOW_S = Math.floor(NOW / 1000);

export interface RequestParts {
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  method?: string;
  pathAndQuery?: string;
  secrets?: readonly string[];
  options?: Record<string, unknown>;
  now?: number;
}

export function input(parts: RequestParts): VerifyInput {
  const body = parts.body ?? "";
  return {
    body: typeof body === "string" ? new TextEncoder().encode(body) : body,
    headers: new Headers(parts.headers ?? {}),
    method: parts.method ?? "POST",
    pathAndQuery: parts.pathAndQuery ?? "/webhook/test",
    secrets: parts.secrets ?? [],
    options: parts.options ?? {},
    now: parts.now ?? NOW,
  };
}

/** Asserts that `run` throws a VerificationError with this code (and message, when given). */
export function expectCode(run: () => unknown, code: VerificationCode, message?: RegExp): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected VerificationError ${code}`).toBeInstanceOf(VerificationError);
  expect((thrown as VerificationError).code).toBe(code);
  if (message) expect((thrown as VerificationError).message).toMatch(message);
}

/** Headers without `name` (case-insensitive), for the missing-header cases. */
export function without(headers: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([key]) => key.toLowerCase() !== name.toLowerCase()));
}

export interface DigestHeaderCase {
  provider: Provider;
  /** The signature header. */
  header: string;
  /** The sender's signing, written from the provider's documentation with node:crypto. */
  sign: (secret: string, body: string) => string;
  body: string;
  /** The other headers the sender sends (event, delivery id, ...). */
  extra: Record<string, string>;
  /** What verify must return for them. */
  expected: { event: string; deliveryId: string | null };
  options?: Record<string, unknown>;
}

/**
 * The cases every "one header, HMAC of the body" provider must pass: valid (with event and
 * delivery id), tampered body, wrong secret, missing header, malformed header, rotation.
 */
export function digestHeaderCases(c: DigestHeaderCase): void {
  const SECRET = "current-secret-0123456789";
  const PREVIOUS = "previous-secret-9876543210";
  const run = (headers: Record<string, string>, secrets: string[] = [SECRET], body = c.body) =>
    c.provider.verify(input({ body, headers, secrets, options: c.options ?? {} }));
  const good = (secret = SECRET) => ({ ...c.extra, [c.header]: c.sign(secret, c.body) });

  it("verifies and extracts event and delivery id", () => {
    expect(run(good())).toEqual({ ...c.expected, verified: true });
  });
  it("rejects a tampered body", () => {
    expectCode(() => run(good(), [SECRET], `${c.body} `), "signature_invalid", /does not match/);
  });
  it("rejects the wrong secret", () => {
    expectCode(() => run(good(), ["some-other-secret"]), "signature_invalid", /does not match/);
  });
  it("rejects a missing signature header", () => {
    expectCode(() => run(c.extra), "signature_missing");
  });
  it("rejects malformed signature headers", () => {
    const signature = c.sign(SECRET, c.body);
    for (const bad of [signature.slice(0, -4), `${signature}00`, `x${signature}`, `!${signature.slice(1)}`]) {
      expectCode(() => run({ ...c.extra, [c.header]: bad }), "signature_invalid", /not of the form/);
    }
  });
  it("accepts the previous secret during rotation, and no secret outside the list", () => {
    expect(run(good(PREVIOUS), [SECRET, PREVIOUS]).verified).toBe(true);
    expectCode(() => run(good(PREVIOUS), [SECRET]), "signature_invalid");
  });
}
