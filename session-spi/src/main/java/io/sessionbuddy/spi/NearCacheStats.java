package io.sessionbuddy.spi;

/**
 * What a storage's near cache (an in-process copy of sessions kept correct by the store) holds and
 * has done; see {@link AbstractSessionStorage#nearCacheStats()}. The Redis backend has one.
 *
 * @param active whether cached sessions are being served: the store acknowledged that it will
 *     report changes on the current connection ({@code false} while connecting or reconnecting,
 *     when every read goes to the store)
 * @param entries the sessions held now (an estimate, as Caffeine's)
 * @param hits reads served from the cache
 * @param misses reads that went to the store while the cache was active
 * @param invalidations keys the store reported as changed by another client, expired or evicted
 * @param flushes times every entry was dropped: a lost connection, a flush of the whole store, a command
 *     that timed out
 */
public record NearCacheStats(boolean active, long entries, long hits, long misses, long invalidations,
        long flushes) {
}
