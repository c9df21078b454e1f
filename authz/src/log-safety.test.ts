import { DrizzleQueryError } from "drizzle-orm/errors";
import { describe, expect, it } from "vitest";
import { errorForLog, withoutQueryParams } from "./log-safety.js";

const secret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

describe("errorForLog", () => {
  it("keeps the query, the type and the cause of a failed query, never its parameters", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    const err = new DrizzleQueryError('select "id" from "api_tokens" where "token_hash" = $1', [secret, "x\ny"], cause);
    const out = errorForLog(err) as Record<string, any>;
    const text = JSON.stringify(out);
    expect(text).not.toContain(secret);
    expect(out.message).toBe('Failed query: select "id" from "api_tokens" where "token_hash" = $1\nparams: [not logged]');
    expect(out.stack).toMatch(/^Error: Failed query: select .*\nparams: \[not logged\]\n\s+at /);
    expect(out.type).toBe("DrizzleQueryError");
    expect(out.query).toContain("token_hash");
    expect(out.params).toBeUndefined();
    expect(out.cause).toMatchObject({ message: "connect ECONNREFUSED 127.0.0.1:5432", code: "ECONNREFUSED" });
  });

  it("drops PostgreSQL's detail, which can quote values; leaves other errors and values alone", () => {
    const pgErr = Object.assign(new Error("duplicate key value"), { detail: `Key (token_hash)=(${secret}) already exists.`, code: "23505" });
    expect(JSON.stringify(errorForLog(pgErr))).not.toContain(secret);
    expect(errorForLog(new RangeError("bad"))).toMatchObject({ type: "RangeError", message: "bad" });
    expect(errorForLog(42)).toBe(42);
    expect(withoutQueryParams(`Failed query: select 1\nparams: ${secret}`)).toBe("Failed query: select 1\nparams: [not logged]");
    expect(withoutQueryParams("no params here")).toBe("no params here");
  });
});
