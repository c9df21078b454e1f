/**
 * Payload filters, applied by the gateway before delivery (JetStream cannot see into bodies).
 *
 * `{"ref": "refs/heads/main", "action": ["opened", "closed"], "pull_request.base.ref": "main"}`:
 * every key is a dotted path into the JSON body (a numeric part indexes an array), every value
 * a JSON scalar (equality) or a non-empty array of scalars (one of). All keys must match. A
 * missing path matches nothing (not even `null`); a body that is not JSON matches no filter.
 * Equality is strict: `"1"` does not equal `1`.
 */
import { z } from "zod";

export type Scalar = string | number | boolean | null;
export type PayloadFilter = Record<string, Scalar | Scalar[]>;

const scalar = z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]);
const PATH = /^[^.\s]+(\.[^.\s]+)*$/;

/** The zod schema of a payload filter: at most 16 conditions, keys ≤ 256 chars. */
export const payloadFilterSchema = z
  .record(
    z.string().min(1).max(256).regex(PATH, "payload keys are dotted JSON paths such as pull_request.base.ref"),
    z.union([scalar, z.array(scalar).min(1).max(100)]),
  )
  .refine((r) => Object.keys(r).length >= 1 && Object.keys(r).length <= 16, "a payload filter has 1 to 16 conditions");

/** Reads a dotted path; undefined when any step is missing. */
export function readPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const key of path.split(".")) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(key)) return undefined;
      cur = cur[Number(key)];
    } else if (cur !== null && typeof cur === "object" && Object.hasOwn(cur, key)) {
      cur = (cur as Record<string, unknown>)[key];
    } else {
      return undefined;
    }
  }
  return cur;
}

/** Whether a parsed JSON body satisfies every condition of the filter. */
export function payloadMatches(filter: PayloadFilter, doc: unknown): boolean {
  return Object.entries(filter).every(([path, want]) => {
    const got = readPath(doc, path);
    if (got === undefined || (got !== null && typeof got === "object")) return false;
    return Array.isArray(want) ? want.some((w) => w === got) : want === got;
  });
}
