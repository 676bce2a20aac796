package io.sessionbuddy.redis;

import io.lettuce.core.SetArgs;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The seed's ACB records made by Python's own pickle ({@code src/test/resources/legacy-acb/}, with
 * the script that made them), for the reader's tests here and the migration tests of the CLI.
 */
public final class LegacyAcbFixtures {
    private LegacyAcbFixtures() {
    }

    /** The bytes of fixture {@code name}, e.g. {@code session-protocol4.pickle}. */
    public static byte[] fixture(String name) {
        try (InputStream in = LegacyAcbFixtures.class.getResourceAsStream("/legacy-acb/" + name)) {
            if (in == null) {
                throw new IllegalStateException("no fixture " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Empties {@code redis} and writes what the seed's store held, namespace {@code session}: sessions
     * {@code acb-002} to {@code acb-005} (pickle protocols 2 to 5) with {@code SET ... EX}, the
     * pickled index and the health-check key.
     */
    public static void seed(RedisCommands<String, byte[]> redis, long sessionTtlSeconds) {
        redis.flushall();
        for (int protocol = 2; protocol <= 5; protocol++) {
            redis.set("session:acb-00" + protocol, fixture("session-protocol" + protocol + ".pickle"),
                    SetArgs.Builder.ex(sessionTtlSeconds));
        }
        redis.set("session:index", fixture("index-protocol4.pickle"));
        redis.set("session:health_check", fixture("health-check.pickle"), SetArgs.Builder.ex(60));
    }
}
