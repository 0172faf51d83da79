/**
 * Results per key for `ttlMs`, and one shared load for concurrent asks of the same key, so an
 * indicator that appears in ten incidents at once costs one look-up. Failed loads are not kept.
 */
export function createTtlCache<T>(ttlMs: number, now: () => number = Date.now) {
  const done = new Map<string, { value: T; until: number }>();
  const loading = new Map<string, Promise<T>>();
  return {
    async get(key: string, load: () => Promise<T>, keep: (value: T) => boolean = () => true): Promise<T> {
      const hit = done.get(key);
      if (hit && hit.until > now()) return hit.value;
      const pending = loading.get(key);
      if (pending) return pending;
      const p = load()
        .then((value) => {
          if (ttlMs > 0 && keep(value)) done.set(key, { value, until: now() + ttlMs });
          return value;
        })
        .finally(() => loading.delete(key));
      loading.set(key, p);
      return p;
    },
  };
}
