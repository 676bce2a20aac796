package io.sessionbuddy.s3;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.StoredFormat;
import io.sessionbuddy.testkit.RawRecords;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import io.sessionbuddy.testkit.BytesSessionStorageContract;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import software.amazon.awssdk.services.s3.S3Client;

/** The contract against a real S3-protocol server (S3Proxy); each test gets its own namespace. */
class S3SessionStorageTest extends BytesSessionStorageContract {
    private static final AtomicInteger NAMESPACES = new AtomicInteger();
    private static S3TestServer server;
    private static S3Client client;
    private String namespace;

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
    protected SessionStorage createStorage(Clock clock, StoredFormat format) {
        namespace = "ns" + NAMESPACES.incrementAndGet();
        return reopenStorage(clock, format);
    }

    @Override
    protected SessionStorage reopenStorage(Clock clock, StoredFormat format) {
        return S3SessionStorage.builder(client, "contract").namespace(namespace).clock(clock).storedFormat(format)
                .build();
    }

    /** The session objects' bodies; a write keeps the object's metadata, as a byte-level copy would. */
    @Override
    protected RawRecords rawRecords() {
        String base = S3SessionStorage.DEFAULT_PREFIX + "/" + namespace + "/sessions/";
        return new RawRecords() {
            @Override
            public byte[] read(String sessionId) {
                return client.getObjectAsBytes(b -> b.bucket("contract").key(base + sessionId)).asByteArray();
            }

            @Override
            public void write(String sessionId, byte[] record) {
                HeadObjectResponse head = client.headObject(b -> b.bucket("contract").key(base + sessionId));
                client.putObject(b -> b.bucket("contract").key(base + sessionId).metadata(head.metadata())
                        .expires(head.expires()), RequestBody.fromBytes(record));
            }
        };
    }
}
