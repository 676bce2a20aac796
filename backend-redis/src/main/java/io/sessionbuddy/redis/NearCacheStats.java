package io.sessionbuddy.redis;

/**
 * What a Redis storage's near cache holds and has done (see {@link RedisSessionStorage#nearCacheStats()}).
 *
 * @param active whether cached sessions are being served: Redis acknowledged client tracking on
 *     the current connection ({@code false} while connecting or reconnecting, when every read goes
 *     to Redis)
 * @param entries the sessions held now (an estimate, as Caffeine's)
 * @param hits reads served from the cache
 * @param misses reads that went to Redis while the cache was active
 * @param invalidations keys Redis reported as changed by another client, expired or evicted
 * @param flushes times every entry was dropped: a lost connection, a {@code FLUSHDB}, a command
 *     that timed out
 */
public record NearCacheStats(boolean active, long entries, long hits, long misses, long invalidations,
        long flushes) {
}
