package io.sessionbuddy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sessionbuddy.core.format.Compression;
import io.sessionbuddy.core.format.KeyRing;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.format.StoredFormat;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A record's conversation is read when it is used, and written back as it was read. */
class LazyHistoryTest {
    private static final KeyRing RING = KeyRing.of("k1", Map.of("k1", key()));

    private static byte[] key() {
        byte[] key = new byte[KeyRing.KEY_BYTES];
        Arrays.fill(key, (byte) 7);
        return key;
    }

    private static SessionState session(int turns) {
        List<ObjectNode> history = new ArrayList<>();
        for (int i = 0; i < turns; i++) {
            history.add(JsonNodeFactory.instance.objectNode().put("role", i % 2 == 0 ? "user" : "assistant")
                    .put("content", "message " + i + " ü \"quoted\" \\ [brackets] {braces}").put("n", i));
        }
        return SessionState.builder("lazy-1", "user", "project").createdAt(Instant.parse("2024-01-01T00:00:00Z"))
                .permissions(List.of("read")).putMetadata("plan", "team").conversationHistory(history).version(3)
                .build();
    }

    private static SessionRecordCodec codec(String kind) {
        StoredFormat format = StoredFormat.defaults();
        return new SessionRecordCodec(switch (kind) {
            case "zstd" -> format.withCompression(Compression.ZSTD);
            case "gzip" -> format.withCompression(Compression.GZIP);
            case "none" -> format.withCompression(Compression.NONE);
            case "encrypted" -> format.withCompression(Compression.NONE).withKeyRing(RING);
            default -> throw new IllegalArgumentException(kind);
        });
    }

    /** A version-1 envelope around {@code json} as it is: no compression, no cipher, a valid checksum. */
    private static byte[] envelope(String json) {
        byte[] payload = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(7 + 8 + payload.length + 4);
        out.put(new byte[] {'S', 'B', 'F', 1, 0, 0, 0}).putInt(payload.length).putInt(payload.length).put(payload);
        CRC32C crc = new CRC32C();
        crc.update(out.array(), 0, out.position());
        out.putInt((int) crc.getValue());
        return out.array();
    }

    @ParameterizedTest
    @ValueSource(strings = {"zstd", "gzip", "none", "encrypted"})
    void aReadLeavesTheConversationUnparsedUntilItIsUsed(String kind) {
        SessionState original = session(300);
        SessionRecordCodec codec = codec(kind);

        SessionState read = codec.decode(codec.encode(original, "ns"), "ns", "lazy-1");

        assertThat(read.conversationHistory()).isInstanceOf(LazyHistory.class);
        LazyHistory history = (LazyHistory) read.conversationHistory();
        assertThat(history.isParsed()).isFalse();
        assertThat(read.userId()).isEqualTo("user");
        assertThat(read.permissions()).containsExactly("read");
        assertThat(read.metadata().get("plan").asText()).isEqualTo("team");
        assertThat(history.isParsed()).isFalse();

        assertThat(read.conversationHistory().get(7)).isEqualTo(original.conversationHistory().get(7));
        assertThat(history.isParsed()).isTrue();
        assertThat(read.conversationSize()).isEqualTo(300);
        assertThat(read).isEqualTo(original).hasSameHashCodeAs(original);
        assertThat(original).isEqualTo(read);
    }

    @Test
    void theConversationReadIsReadOnlyAtEveryDepth() {
        SessionRecordCodec codec = codec("zstd");
        SessionState read = codec.decode(codec.encode(session(5), "ns"), "ns", "lazy-1");

        assertThatThrownBy(() -> read.conversationHistory().add(JsonNodeFactory.instance.objectNode()))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> read.conversationHistory().set(0, JsonNodeFactory.instance.objectNode()))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> read.conversationHistory().get(0).put("role", "system"))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThat(read.conversationHistory().get(0).get("role").asText()).isEqualTo("user");
    }

    @ParameterizedTest
    @ValueSource(strings = {"zstd", "none", "encrypted"})
    void aStateWrittenBackCopiesTheConversationsBytes(String kind) {
        SessionState original = session(300);
        SessionRecordCodec codec = codec(kind);
        SessionState read = codec.decode(codec.encode(original, "ns"), "ns", "lazy-1");

        SessionState changed = read.toBuilder().putMetadata("step", 2).version(4).build();
        byte[] record = codec.encode(changed, "ns");

        assertThat(changed.conversationHistory()).isSameAs(read.conversationHistory());
        assertThat(((LazyHistory) read.conversationHistory()).isParsed())
                .as("checked for the write without building its entries").isFalse();
        assertThat(SessionJsonCodec.toBytes(changed))
                .isEqualTo(SessionJsonCodec.toBytes(original.toBuilder().putMetadata("step", 2).version(4).build()));
        assertThat(SessionJsonCodec.size(changed)).isEqualTo(SessionJsonCodec.toBytes(changed).length);
        assertThat(SessionJsonCodec.sizeUpperBound(changed)).isGreaterThanOrEqualTo(SessionJsonCodec.size(changed));
        SessionState again = codec.decode(record, "ns", "lazy-1");
        assertThat(again).isEqualTo(original.toBuilder().putMetadata("step", 2).version(4).build());
        assertThat(again.conversationHistory().get(299).get("n").asInt()).isEqualTo(299);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 300})
    void turnsAppendedToARecordedConversationAreWrittenAfterItsBytes(int turns) {
        SessionState original = session(turns);
        SessionRecordCodec codec = codec("zstd");
        SessionState read = codec.decode(codec.encode(original, "ns"), "ns", "lazy-1");
        Map<String, Object> first = Map.of("role", "user", "content", "next \"one\"\n");
        Map<String, Object> second = Map.of("role", "assistant", "content", "ok", "tokens", 3);

        SessionState grown = read.toBuilder().addConversationEntry(first).addConversationEntry(second)
                .version(4).build();
        SessionState expected = original.toBuilder().addConversationEntry(first).addConversationEntry(second)
                .version(4).build();

        assertThat(grown.conversationHistory()).isInstanceOf(LazyHistory.class);
        assertThat(((LazyHistory) read.conversationHistory()).isParsed()).isFalse();
        assertThat(grown.conversationSize()).isEqualTo(turns + 2);
        assertThat(grown.conversationHistory().get(turns + 1).get("tokens").asInt()).isEqualTo(3);
        assertThatThrownBy(() -> grown.conversationHistory().get(turns + 2))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> grown.conversationHistory().get(turns).put("role", "system"))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThat(grown).isEqualTo(expected);
        assertThat(read.conversationSize()).isEqualTo(turns); // the state read is unchanged
        assertThat(SessionJsonCodec.toBytes(grown)).isEqualTo(SessionJsonCodec.toBytes(expected));
        assertThat(SessionJsonCodec.sizeUpperBound(grown)).isGreaterThanOrEqualTo(SessionJsonCodec.size(grown));
        SessionState again = codec.decode(codec.encode(grown, "ns"), "ns", "lazy-1");
        assertThat(again).isEqualTo(expected);
        assertThat(again.conversationHistory().get(turns).get("content").asText()).isEqualTo("next \"one\"\n");
    }

    @Test
    void theCallersRecordBytesAreNotKept() {
        SessionState original = session(50);
        SessionRecordCodec codec = codec("none");
        byte[] record = codec.encode(original, "ns");

        SessionState read = codec.decode(record, "ns", "lazy-1");
        Arrays.fill(record, (byte) ' '); // a caller reusing its buffer

        assertThat(read.conversationHistory()).isEqualTo(original.conversationHistory());
    }

    @Test
    void aRecordWithTheConversationBeforeOtherFieldsIsReadWhole() {
        // the field order of earlier versions of this library: the conversation before the objects and version,
        // here with an unknown array field last, whose ']' and the record's '}' end the record
        String json = "{\"session_id\":\"lazy-1\",\"user_id\":\"user\",\"project_id\":\"project\","
                + "\"created_at\":\"2024-01-01T00:00:00Z\",\"last_activity\":\"2024-01-01T00:00:00Z\","
                + "\"permissions\":[],\"conversation_history\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"reflection_data\":{},\"app_monitoring_state\":{},\"llm_provider_configs\":{},\"metadata\":{},"
                + "\"version\":3,\"tags\":[1,2]}";
        SessionState read = codec("none").decode(envelope(json), "ns", "lazy-1");

        assertThat(read.conversationHistory()).isNotInstanceOf(LazyHistory.class).hasSize(1);
        assertThat(read.conversationHistory().get(0).get("content").asText()).isEqualTo("hi");
        assertThat(read.extraFields().get("tags").size()).isEqualTo(2);
        assertThat(read.version()).isEqualTo(3);
    }

    static java.util.stream.Stream<String> unreadableConversations() {
        return java.util.stream.Stream.of("[1,2]", "[{\"a\":1}],\"tags\":[2]", "[{\"a\":1},]",
                "[{\"a\":\"\\ud800\"}]", "[{\"a\":[{\"\\udc00\":1}]}]", "[{\"a\":1e999}]",
                "[{\"" + "k".repeat(JsonLimits.MAX_NAME_CHARS + 1) + "\":1}]",
                "[{\"a\":" + "[".repeat(JsonLimits.MAX_DEPTH) + "]".repeat(JsonLimits.MAX_DEPTH) + "}]");
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("unreadableConversations")
    void aConversationThatCannotBeReadFailsTypedWhenUsedAndIsNeverWrittenOn(String history) {
        // a record made by hand, with a valid checksum and this library's field order
        String json = "{\"session_id\":\"lazy-1\",\"user_id\":\"user\",\"project_id\":\"project\","
                + "\"created_at\":\"2024-01-01T00:00:00Z\",\"permissions\":[],\"version\":3,"
                + "\"conversation_history\":" + history + "}";
        SessionRecordCodec codec = codec("none");
        SessionState read = codec.decode(envelope(json), "ns", "lazy-1");
        assertThat(read.userId()).isEqualTo("user");

        assertThatThrownBy(() -> read.conversationHistory().size())
                .isInstanceOf(CorruptSessionException.class)
                .hasMessageContaining("conversation_history")
                .satisfies(e -> assertThat(((CorruptSessionException) e).sessionId()).isEqualTo("lazy-1"));
        SessionState fresh = codec.decode(envelope(json), "ns", "lazy-1");
        assertThatThrownBy(() -> codec.encode(fresh.toBuilder().version(4).build(), "ns"))
                .isInstanceOf(CorruptSessionException.class)
                .hasMessageContaining("conversation_history");
    }

    @Test
    void threadsRacingToReadTheConversationAllSeeTheSameEntries() throws Exception {
        SessionState original = session(400);
        SessionRecordCodec codec = codec("zstd");
        SessionState read = codec.decode(codec.encode(original, "ns"), "ns", "lazy-1");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<List<ObjectNode>>> readers = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                readers.add(() -> List.copyOf(read.conversationHistory()));
            }
            for (Future<List<ObjectNode>> result : pool.invokeAll(readers)) {
                assertThat(result.get()).isEqualTo(original.conversationHistory());
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
