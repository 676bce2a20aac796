package io.sessionbuddy.s3;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.testkit.SessionStorageContract;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import software.amazon.awssdk.services.s3.S3Client;

/** The contract against a real S3-protocol server (S3Proxy); each test gets its own namespace. */
class S3SessionStorageTest extends SessionStorageContract {
    private static final AtomicInteger NAMESPACES = new AtomicInteger();
    private static S3TestServer server;
    private static S3Client client;

    @BeforeAll
    static void startServer() {
        server = S3TestServer.start();
        server.createBucket("contract");
        client = server.client();
    }

    @AfterAll
    static void stopServer() {
        client.close();
        server.close();
    }

    @Override
    protected SessionStorage createStorage(Clock clock) {
        return S3SessionStorage.builder(client, "contract").namespace("ns" + NAMESPACES.incrementAndGet())
                .clock(clock).build();
    }
}
