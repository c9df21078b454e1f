/**
 * Wraps a reload so that calls made while one run is under way share a single follow-up run
 * that starts after it, and every call resolves only after a run that began after the call.
 *
 * Why not simply share the run in progress: it may have read its source before the change that
 * prompted the call, and the change would then be missed until the next periodic refresh.
 */
export function coalesce(run: () => Promise<void>): () => Promise<void> {
  let current: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const start = (): Promise<void> => {
    current = run().finally(() => {
      current = undefined;
    });
    return current;
  };
  return () => {
    if (!current) return start();
    next ??= current.then(
      () => {
        next = undefined;
        return start();
      },
      () => {
        next = undefined;
        return start();
      },
    );
    return next;
  };
}
