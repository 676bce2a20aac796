package io.sessionbuddy.redis;

import io.lettuce.core.RedisClient;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.testkit.SessionStorageContract;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The contract against a real standalone redis-server; each test gets its own namespace. */
class RedisSessionStorageTest extends SessionStorageContract {
    private static final AtomicInteger NAMESPACES = new AtomicInteger();
    private static RedisTestServer server;
    private static RedisClient client;

    @BeforeAll
    static void startServer() {
        server = RedisTestServer.start();
        client = RedisClient.create();
    }

    @AfterAll
    static void stopServer() {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        server.close();
    }

    @Override
    protected SessionStorage createStorage(Clock clock) {
        return RedisSessionStorage.builder().client(client).uri(server.uri())
                .namespace("contract" + NAMESPACES.incrementAndGet()).clock(clock).build();
    }

    @Override
    protected boolean serverOwnsTime() {
        return true;
    }
}
