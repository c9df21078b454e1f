/**
 * Errors as they may be logged: never with query parameters. drizzle's `DrizzleQueryError`
 * writes the parameters into its message (`Failed query: <sql>\nparams: <values>`) and keeps them
 * in `params`; a token lookup's parameter is the caller's token hash, the stored credential
 * (issue 16 #8). PostgreSQL's own errors can quote values in `detail` (`Key (x)=(...) exists`).
 */

/** `text` without drizzle's `params: ...` part (up to the stack's first frame, or the end). */
export function withoutQueryParams(text: string): string {
  return text.replace(/\nparams: [\s\S]*?(?=\n\s+at |$)/, "\nparams: [not logged]");
}

const DROPPED = new Set(["params", "detail", "parameters"]);

/**
 * A plain, JSON-able copy of an error (and its `cause` chain) for a log line: type, message,
 * stack, code and the other own fields, minus query parameters. Strings are scrubbed as well.
 */
export function errorForLog(err: unknown, depth = 0): unknown {
  if (typeof err === "string") return withoutQueryParams(err);
  if (!(err instanceof Error) || depth > 5) return err;
  const out: Record<string, unknown> = { type: err.constructor?.name ?? err.name };
  for (const [k, v] of Object.entries(err)) if (!DROPPED.has(k) && k !== "cause") out[k] = typeof v === "string" ? withoutQueryParams(v) : v;
  out.message = withoutQueryParams(err.message);
  if (err.stack) out.stack = withoutQueryParams(err.stack);
  if (err.cause !== undefined) out.cause = errorForLog(err.cause, depth + 1);
  return out;
}
