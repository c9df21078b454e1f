/**
 * The read filters of pulls, replays and streams (`source`, `event`, `endpoint_id`, `path`):
 * parsed once per request into a pure predicate over what a stored delivery carries. The path
 * pattern is a subscription's (authz `parsePattern`/`matchesPath`), so the two read alike.
 */
import { BrokerError, matchesPath, parsePattern, PatternError, type PathPattern } from "@wb/authz";

export interface QueryFilter {
  sources?: ReadonlySet<string>;
  events?: ReadonlySet<string>;
  endpointIds?: ReadonlySet<string>;
  pattern?: PathPattern;
}

/** What a filter looks at of one delivery (its subject and `Wb-Source` header). */
export interface FilterSubject {
  source: string;
  event: string;
  endpointId: string;
  segments: readonly string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_VALUES = 50;

const list = (name: string, text: string | undefined): Set<string> | undefined => {
  if (text === undefined) return undefined;
  const values = text.split(",").map((v) => v.trim()).filter((v) => v !== "");
  if (values.length === 0) throw new BrokerError("invalid_request", `${name} must name at least one value (comma-separated)`);
  if (values.length > MAX_VALUES) throw new BrokerError("invalid_request", `${name} takes at most ${MAX_VALUES} values`);
  return new Set(values);
};

/** Parses the query's filters; undefined when it has none. Bad input is a 400. */
export function parseQueryFilter(q: { source?: string; event?: string; endpoint_id?: string; path?: string }): QueryFilter | undefined {
  const f: QueryFilter = { sources: list("source", q.source), events: list("event", q.event), endpointIds: list("endpoint_id", q.endpoint_id) };
  for (const id of f.endpointIds ?? []) if (!UUID.test(id)) throw new BrokerError("invalid_request", `endpoint_id: ${JSON.stringify(id)} is not an endpoint id`);
  if (f.endpointIds) f.endpointIds = new Set([...f.endpointIds].map((id) => id.toLowerCase()));
  if (q.path !== undefined) {
    try {
      f.pattern = parsePattern(q.path);
    } catch (err) {
      if (err instanceof PatternError) throw new BrokerError("invalid_request", `path: ${err.message}`);
      throw err;
    }
  }
  return f.sources || f.events || f.endpointIds || f.pattern ? f : undefined;
}

/** Whether a delivery passes every filter given (each comma list is an OR, the filters an AND). */
export function passes(f: QueryFilter, m: FilterSubject): boolean {
  return (
    (!f.sources || f.sources.has(m.source)) &&
    (!f.events || f.events.has(m.event)) &&
    (!f.endpointIds || f.endpointIds.has(m.endpointId.toLowerCase())) &&
    (!f.pattern || matchesPath(f.pattern, m.segments))
  );
}
