import { expect, it } from "vitest";
import { databaseUnreachable, dependencyUnavailable } from "./errors.js";

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

it("maps NATS connection failures and timeouts to 503, and nothing else", async () => {
  const { ClosedConnectionError, RequestError, TimeoutError, NoRespondersError } = await import("@nats-io/transport-node");
  const { JetStreamError } = await import("@nats-io/jetstream");
  expect(dependencyUnavailable(new TimeoutError())).toMatchObject({ dependency: "nats", retryAfterSeconds: 2 });
  expect(dependencyUnavailable(new RequestError("503", { cause: new NoRespondersError("$JS.API.X") }))?.dependency).toBe("nats");
  expect(dependencyUnavailable(new ClosedConnectionError())?.dependency).toBe("nats");
  expect(dependencyUnavailable(new JetStreamError("heartbeats missed"))?.dependency).toBe("nats");
  expect(dependencyUnavailable(new Error("Failed query", { cause: Object.assign(new Error(""), { code: "ECONNREFUSED" }) }))).toMatchObject({ dependency: "postgres", retryAfterSeconds: 5 });
  // Bugs stay bugs (500, "unhandled error").
  expect(dependencyUnavailable(new TypeError("x is undefined"))).toBeUndefined();
  expect(dependencyUnavailable(new JetStreamError("some other failure"))).toBeUndefined();
});
