/**
 * @module
 * Replay protection for origins: signature v2 covers the request id, so an origin that remembers
 * the ids it has accepted can refuse a captured request sent again within the timestamp tolerance.
 */

/**
 * Where an origin remembers request ids. `claim` must be atomic across the origin's instances
 * (a Redis `SET key 1 NX EXAT expiresAt`, a unique row, a Durable Object), or a replay racing the
 * original can be accepted by another instance.
 */
export interface ReplayStore {
  /**
   * Records `requestId` until `expiresAt` (unix seconds, when its signature goes stale anyway).
   * @returns `true` the first time, `false` when the id was already claimed and has not expired.
   */
  claim(requestId: string, expiresAt: number): boolean | Promise<boolean>;
}

/**
 * A {@link ReplayStore} in this process's memory, for an origin that runs as one process; it
 * forgets expired ids as it goes and holds at most `maxEntries` (the oldest are dropped first, so
 * size it above the requests one tolerance window can bring).
 */
export function createMemoryReplayStore(options: { maxEntries?: number; now?: () => number } = {}): ReplayStore {
  const maxEntries = options.maxEntries ?? 100_000;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const seen = new Map<string, number>();
  return {
    claim(requestId, expiresAt) {
      const time = now();
      const known = seen.get(requestId);
      if (known !== undefined && known >= time) return false;
      seen.delete(requestId);
      // Map keeps insertion order: the first entries are the oldest.
      for (const [id, expiry] of seen) {
        if (expiry >= time && seen.size < maxEntries) break;
        seen.delete(id);
      }
      seen.set(requestId, expiresAt);
      return true;
    },
  };
}
