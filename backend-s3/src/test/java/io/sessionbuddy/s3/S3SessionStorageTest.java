package io.sessionbuddy.s3;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.format.StoredFormat;
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

    @org.junit.jupiter.api.Test
    void objectNamesNeverHoldTheRawIdAndMapBackToIt() {
        java.util.List<String> ids = java.util.List.of("sess 42", "ünïcødé-session", "../x", "..", ".", "a/b",
                "{tag}", "%2F", "~x", "Sess-A", "sess-a", "plain-ID.1_2", "日".repeat(170) + "ab");
        for (String id : ids) {
            await(storage.storeSession(session(id, "names-user", "p"), null));
        }
        String base = S3SessionStorage.DEFAULT_PREFIX + "/" + namespace + "/";
        java.util.List<String> keys = client.listObjectsV2Paginator(b -> b.bucket("contract").prefix(base)).contents()
                .stream().map(software.amazon.awssdk.services.s3.model.S3Object::key)
                .filter(key -> !key.equals(base + ".probe/conditional-writes")).toList(); // the start's check
        org.assertj.core.api.Assertions.assertThat(keys).hasSize(ids.size() * 3); // record and two markers each
        for (String key : keys) {
            String name = key.substring(key.lastIndexOf('/') + 1);
            org.assertj.core.api.Assertions.assertThat(name).as(key).matches("[A-Za-z0-9._~-]+")
                    .isNotIn(".", "..");
            org.assertj.core.api.Assertions.assertThat(key.getBytes(java.nio.charset.StandardCharsets.UTF_8).length)
                    .isLessThanOrEqualTo(1024);
        }
        org.assertj.core.api.Assertions.assertThat(keys).contains(base + "sessions/plain-ID.1_2", base
                + "sessions/Sess-A", base + "sessions/" + S3SessionStorage.objectName("../x"));
        for (String id : ids) {
            org.assertj.core.api.Assertions.assertThat(S3SessionStorage.idOfName(S3SessionStorage.objectName(id)))
                    .isEqualTo(id);
        }
        org.assertj.core.api.Assertions.assertThat(await(storage.listSessions("names-user", null)))
                .containsExactlyInAnyOrderElementsOf(ids);
    }

    @org.junit.jupiter.api.Test
    void aSessionStoredAgainAfterItsExpiredMarkersWereRepairedIsListed() {
        await(storage.storeSession(session("fixed-id", "carol", "proj"), java.time.Duration.ofMinutes(1)));
        clock.advance(java.time.Duration.ofMinutes(3));
        org.assertj.core.api.Assertions.assertThat(await(storage.listSessions("carol", null))).isEmpty();

        await(storage.storeSession(session("fixed-id", "carol", "proj"), null));

        org.assertj.core.api.Assertions.assertThat(await(storage.retrieveSession("fixed-id"))).isPresent();
        org.assertj.core.api.Assertions.assertThat(await(storage.listSessions("carol", null)))
                .containsExactly("fixed-id");
        org.assertj.core.api.Assertions.assertThat(await(storage.listSessions(null, "proj")))
                .containsExactly("fixed-id");
    }

    @org.junit.jupiter.api.Test
    void cleanupPutsBackTheMarkersALiveSessionLacks() {
        await(storage.storeSession(session("lost-marker", "dave", "proj"), null));
        String marker = S3SessionStorage.DEFAULT_PREFIX + "/" + namespace + "/index/users/"
                + S3SessionStorage.hash("dave") + "/lost-marker";
        client.deleteObject(b -> b.bucket("contract").key(marker));
        org.assertj.core.api.Assertions.assertThat(await(storage.listSessions("dave", null))).isEmpty();

        await(storage.cleanupExpiredSessions());

        org.assertj.core.api.Assertions.assertThat(await(storage.listSessions("dave", null)))
                .containsExactly("lost-marker");
    }

    @org.junit.jupiter.api.Test
    void anObjectWithDamagedMetadataFailsOnlyTheCallsThatReadIt() {
        await(storage.storeSession(session("good", "erin", "proj"), null));
        await(storage.storeSession(session("poison", "erin", "proj"), null));
        String key = S3SessionStorage.DEFAULT_PREFIX + "/" + namespace + "/sessions/poison";
        HeadObjectResponse head = client.headObject(b -> b.bucket("contract").key(key));
        java.util.Map<String, String> metadata = new java.util.HashMap<>(head.metadata());
        metadata.put("expires-at", "soon");
        byte[] body = client.getObjectAsBytes(b -> b.bucket("contract").key(key)).asByteArray();
        client.putObject(b -> b.bucket("contract").key(key).metadata(metadata), RequestBody.fromBytes(body));

        org.assertj.core.api.Assertions.assertThat(await(storage.listSessions("erin", null))).containsExactly("good");
        org.assertj.core.api.Assertions.assertThat(await(storage.listSessions(null, null))).containsExactly("good");
        org.assertj.core.api.Assertions.assertThat(await(storage.cleanupExpiredSessions())).isZero();
        Throwable update = failureOf(() -> new io.sessionbuddy.core.SessionManager(storage).updateSession("poison",
                s -> s.toBuilder().permissions(java.util.List.of("x")).build()));
        org.assertj.core.api.Assertions.assertThat(update)
                .isInstanceOf(io.sessionbuddy.core.CorruptSessionException.class)
                .hasMessageContaining("[s3]").hasMessageContaining("expires-at");
        org.assertj.core.api.Assertions.assertThat(await(storage.retrieveSession("good"))).isPresent();
    }

    @org.junit.jupiter.api.Test
    void anOlderRecordPutBackInPlaceOfANewerOneIsRefused() throws Exception {
        assertAnOlderRecordPutBackIsRefused();
    }
}
