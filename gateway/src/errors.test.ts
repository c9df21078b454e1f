import { expect, it } from "vitest";
import { databaseUnreachable } from "./errors.js";

const pgError = (code: string, message = "") => Object.assign(new Error(message), { code });

it("tells an unreachable database from a query that failed", () => {
  expect(databaseUnreachable(pgError("ECONNREFUSED"))).toBe(true);
  expect(databaseUnreachable(new Error("Failed query: select 1", { cause: new Error("Connection terminated unexpectedly") }))).toBe(true);
  expect(databaseUnreachable(new AggregateError([pgError("ECONNREFUSED")]))).toBe(true);
  expect(databaseUnreachable(pgError("57P01", "terminating connection due to administrator command"))).toBe(true);
  expect(databaseUnreachable(pgError("08006"))).toBe(true);
  // A bug or a constraint is not a reason to tell the client to retry.
  expect(databaseUnreachable(new Error("Failed query: insert", { cause: pgError("23505", "duplicate key value") }))).toBe(false);
  expect(databaseUnreachable(new TypeError("x is undefined"))).toBe(false);
});
