package io.sessionbuddy.bench;

import io.sessionbuddy.core.format.Compression;
import io.sessionbuddy.core.format.KeyRing;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.StoredFormat;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The whole stored format, as backends use it: {@link SessionState} to JSON, compression,
 * optional AES-256-GCM, envelope; and back.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class RecordCodecBenchmark {
    /** Payload size in bytes. */
    @Param({"1024", "16384", "1048576"})
    public int size;

    /** Compression of the stored format. */
    @Param({"none", "gzip", "zstd"})
    public String compression;

    /** Whether records are encrypted. */
    @Param({"false", "true"})
    public boolean encrypted;

    private SessionRecordCodec codec;
    private SessionState state;
    private byte[] record;

    @Setup
    public void setUp() {
        byte[] key = new byte[KeyRing.KEY_BYTES];
        Arrays.fill(key, (byte) 5);
        StoredFormat format = StoredFormat.defaults().withCompression(Compression.byConfigName(compression))
                .withKeyRing(encrypted ? KeyRing.of("k1", Map.of("k1", key)) : KeyRing.none());
        codec = new SessionRecordCodec(format);
        state = SessionPayloads.session("bench", "user", "project", size, 42);
        record = codec.encode(state, "bench");
    }

    @Benchmark
    public byte[] encode() {
        return codec.encode(state, "bench");
    }

    @Benchmark
    public SessionState decode() {
        return codec.decode(record, "bench", "bench");
    }

    /**
     * What a turn of a chat costs the codec: the record read, its conversation used (to build the
     * next prompt), a turn appended, the record written.
     */
    @Benchmark
    public byte[] chatTurn(Blackhole blackhole) {
        SessionState read = codec.decode(record, "bench", "bench");
        blackhole.consume(SessionPayloads.useConversation(read));
        return codec.encode(read.toBuilder().addConversationEntry(TURN).version(read.version() + 1).build(), "bench");
    }

    /** A record read and written again with one metadata value changed, its conversation not used. */
    @Benchmark
    public byte[] metadataUpdate() {
        SessionState read = codec.decode(record, "bench", "bench");
        return codec.encode(read.toBuilder().putMetadata("step", 2).version(read.version() + 1).build(), "bench");
    }

    private static final Map<String, Object> TURN = Map.of("role", "user", "content",
            "Summarise the quarterly revenue growth by region and flag any anomalies.",
            "timestamp", "2026-11-20T11:02:03Z");
}
