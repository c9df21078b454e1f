import type { Context } from "hono";
import type { z } from "zod";
import { BrokerError } from "@wb/authz";
import { describeIssues } from "./openapi.js";

/** Parses a JSON body against a schema; any failure is one 400 with the reasons. */
export async function parseJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new BrokerError("invalid_request", "the body must be JSON");
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new BrokerError("invalid_request", describeIssues(result.error.issues, "body"));
  }
  return result.data;
}
