package io.sessionbuddy.bench;

import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.s3.S3SessionStorage;
import io.sessionbuddy.s3.S3TestServer;
import java.util.Optional;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The S3 backend against raw SDK {@code PutObject}/{@code GetObject} of the same encoded bytes, on
 * S3Proxy (in-memory store) over loopback, with the same client (Apache 5 HTTP client).
 */
@State(Scope.Benchmark)
public class S3Benchmark {
    /** Session JSON size in bytes. */
    @Param({"1024", "16384", "262144"})
    public int size;

    private S3Client client;
    private S3SessionStorage storage;
    private SessionState state;
    private byte[] record;
    private String eTag;
    private static final java.util.Map<String, String> RAW_METADATA = java.util.Map.of("write-id",
            java.util.UUID.randomUUID().toString(), "version", "1", "expires-at", "1900000000000",
            "user-hash", "04f8996da763b7a969b1028ee3007569eaf3a635486ddab211d512c85b9df8fb",
            "project-hash", "e6ae0ed5a2a7c7b3e3f4b2a7c9f9d1c28f5e1f2b1d7e7c6a5b4c3d2e1f0a9b8c");

    @Setup
    public void setUp() {
        client = S3TestServer.client(BenchServers.s3());
        storage = S3SessionStorage.builder(client, "bench").namespace("bench" + size).build();
        state = SessionPayloads.session("bench-s3", "user", "project", size, 42);
        record = new SessionRecordCodec(StoredFormat.defaults()).encode(state, "raw");
        storage.storeSession(state, null).join();
        storeRaw();
        eTag = client.putObject(b -> b.bucket("bench").key("rawc/" + size).metadata(RAW_METADATA),
                RequestBody.fromBytes(record)).eTag();
    }

    @TearDown
    public void tearDown() {
        storage.close();
        client.close();
        BenchServers.stop();
    }

    @Benchmark
    public Boolean store() {
        return storage.storeSession(state, null).join();
    }

    @Benchmark
    public Optional<SessionState> retrieve() {
        return storage.retrieveSession(state.sessionId()).join();
    }

    /**
     * {@link #retrieve}, then every conversation entry looked at: what a read costs a request that
     * uses the conversation (a read alone leaves it unparsed until it is used).
     */
    @Benchmark
    public long retrieveConversation() {
        return SessionPayloads.useConversation(storage.retrieveSession(state.sessionId()).join().orElseThrow());
    }

    @Benchmark
    public Object storeRaw() {
        return client.putObject(b -> b.bucket("bench").key("raw/" + size), RequestBody.fromBytes(record));
    }

    /**
     * {@link #storeRaw} with what the library's {@code PUT} carries besides the bytes: the five
     * metadata entries and {@code If-Match} of the current ETag (what the server does for them).
     */
    @Benchmark
    public Object storeRawConditional() {
        PutObjectResponse response = client.putObject(b -> b.bucket("bench").key("rawc/" + size)
                .metadata(RAW_METADATA).ifMatch(eTag), RequestBody.fromBytes(record));
        eTag = response.eTag();
        return response;
    }

    @Benchmark
    public byte[] retrieveRaw() {
        return client.getObjectAsBytes(b -> b.bucket("bench").key("raw/" + size)).asByteArray();
    }
}
