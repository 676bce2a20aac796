package io.sessionbuddy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The session's JSON values are read-only and shared, never copied on the way out: whatever a
 * caller does with a returned value, no state (and so no stored or cached session) changes.
 */
class FrozenStateTest {
    private static final ObjectMapper PLAIN = new ObjectMapper();
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private static SessionState sample() {
        ObjectNode entry = JSON.objectNode().put("role", "user").put("content", "hi");
        entry.putArray("tool_calls").addObject().put("id", "call_1");
        entry.putObject("usage").put("tokens", 12);
        ObjectNode metadata = JSON.objectNode().put("client", "web");
        metadata.putObject("nested").putArray("list").add(1).addObject().put("deep", true);
        for (int i = 0; i < 12; i++) {
            metadata.put("key" + i, i); // more than the small-object layout holds
        }
        return SessionState.builder("frozen", "u", "p").metadata(metadata).conversationHistory(List.of(entry))
                .reflectionData(JSON.objectNode().put("goal", "x"))
                .extraField("future_field", JSON.objectNode().put("v", 1)).build();
    }

    /** Every way a caller might change a value reached from the state, at every depth. */
    private static List<Consumer<SessionState>> mutations() {
        List<Consumer<SessionState>> all = new ArrayList<>();
        all.add(s -> s.metadata().put("client", "evil"));
        all.add(s -> s.metadata().remove("client"));
        all.add(s -> s.metadata().removeAll());
        all.add(s -> s.metadata().set("x", JSON.textNode("y")));
        all.add(s -> s.metadata().putObject("x"));
        all.add(s -> s.metadata().withObject("/a/b"));
        all.add(s -> s.metadata().properties().iterator().next().setValue(JSON.textNode("evil")));
        all.add(s -> {
            Iterator<Map.Entry<String, JsonNode>> fields = s.metadata().properties().iterator();
            fields.next();
            fields.remove();
        });
        all.add(s -> ((ObjectNode) s.metadata().get("nested")).put("x", 1));
        all.add(s -> ((ArrayNode) s.metadata().get("nested").get("list")).add(2));
        all.add(s -> ((ArrayNode) s.metadata().get("nested").get("list")).remove(0));
        all.add(s -> ((ObjectNode) s.metadata().get("nested").get("list").get(1)).put("deep", false));
        all.add(s -> {
            Iterator<JsonNode> elements = s.metadata().get("nested").get("list").elements();
            elements.next();
            elements.remove();
        });
        all.add(s -> s.conversationHistory().add(JSON.objectNode()));
        all.add(s -> s.conversationHistory().set(0, JSON.objectNode()));
        all.add(s -> s.conversationHistory().get(0).put("role", "assistant"));
        all.add(s -> ((ArrayNode) s.conversationHistory().get(0).get("tool_calls")).removeAll());
        all.add(s -> ((ObjectNode) s.conversationHistory().get(0).get("tool_calls").get(0)).put("id", "x"));
        all.add(s -> ((ObjectNode) s.conversationHistory().get(0).get("usage")).put("tokens", 0));
        all.add(s -> s.reflectionData().put("goal", "y"));
        all.add(s -> s.appMonitoringState().put("a", 1));
        all.add(s -> s.llmProviderConfigs().put("a", 1));
        all.add(s -> s.extraFields().put("future_field", 2));
        all.add(s -> ((ObjectNode) s.extraFields().get("future_field")).put("v", 2));
        all.add(s -> s.permissions().add("admin"));
        return all;
    }

    @Test
    void everyMutationOfAReturnedValueIsRefusedAndChangesNothing() {
        for (SessionState state : List.of(sample(), SessionJsonCodec.fromBytes(SessionJsonCodec.toBytes(sample())))) {
            byte[] before = SessionJsonCodec.toBytes(state);
            int i = 0;
            for (Consumer<SessionState> mutation : mutations()) {
                assertThatThrownBy(() -> mutation.accept(state)).as("mutation %d", i++)
                        .isInstanceOf(UnsupportedOperationException.class);
            }
            assertThat(SessionJsonCodec.toBytes(state)).isEqualTo(before);
        }
    }

    @Test
    void theCallersOwnTreeStaysEditableAndIsCopiedOnce() {
        ObjectNode mine = JSON.objectNode().put("a", 1);
        mine.putObject("inner").put("b", 2);
        SessionState state = SessionState.builder("frozen", "u", "p").metadata(mine).build();

        mine.put("a", 99);
        ((ObjectNode) mine.get("inner")).put("b", 99);

        assertThat(state.metadata().get("a").asInt()).isEqualTo(1);
        assertThat(state.metadata().get("inner").get("b").asInt()).isEqualTo(2);
        ObjectNode editable = state.metadata().deepCopy();
        ((ObjectNode) editable.put("a", 5).get("inner")).put("b", 6);
        assertThat(state.metadata().get("a").asInt()).isEqualTo(1);
        assertThat(state.metadata().get("inner").get("b").asInt()).isEqualTo(2);
    }

    @Test
    void aChangedStateSharesEveryValueItDidNotChange() {
        SessionState state = sample();
        SessionState changed = state.toBuilder().putMetadata("client", "mobile").version(7).build();

        assertThat(changed.conversationHistory()).isSameAs(state.conversationHistory());
        assertThat(changed.reflectionData()).isSameAs(state.reflectionData());
        assertThat(changed.extraFields()).isSameAs(state.extraFields());
        assertThat(changed.metadata().get("nested")).isSameAs(state.metadata().get("nested"));
        assertThat(changed.metadata().get("client").asText()).isEqualTo("mobile");
        assertThat(state.metadata().get("client").asText()).isEqualTo("web");
        // the order of the other keys is kept
        assertThat(fieldNames(changed.metadata())).isEqualTo(fieldNames(state.metadata()));
        assertThat(state.withExpiresAt(java.time.Instant.EPOCH).metadata()).isSameAs(state.metadata());
        // reading twice gives the same object: nothing is copied on the way out
        assertThat(state.metadata()).isSameAs(state.metadata());
        assertThat(state.conversationHistory()).isSameAs(state.conversationHistory());
    }

    @Test
    void aSharedDeepValueStillCountsItsDepthWhereItIsPut() {
        ObjectNode deep = JSON.objectNode();
        ObjectNode cursor = deep;
        for (int i = 1; i < 1000; i++) {
            cursor = cursor.putObject("d");
        }
        SessionState state = SessionState.builder("frozen", "u", "p").metadata(deep).build(); // 1000 levels: fine
        JsonNode frozenDeep = state.metadata();

        assertThatThrownBy(() -> state.toBuilder().putMetadata("again", frozenDeep).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nested deeper than 1000");
        assertThatThrownBy(() -> state.toBuilder().reflectionData(JSON.objectNode().set("x", frozenDeep)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nested deeper than 1000");
        assertThat(state.toBuilder().reflectionData((ObjectNode) frozenDeep).build().reflectionData())
                .isSameAs(frozenDeep);
    }

    @Test
    void aRecordReadsToTheSameValuesJacksonsTreeReaderGives() throws Exception {
        Random random = new Random(7);
        for (int round = 0; round < 300; round++) {
            ObjectNode value = randomObject(random, 0);
            ObjectNode record = (ObjectNode) PLAIN.readTree(SessionJsonCodec.toBytes(
                    SessionState.builder("r" + round, "u", "p").build()));
            record.set("metadata", value);
            record.set("conversation_history", JSON.arrayNode().add(value).add(JSON.objectNode()));
            record.set("unknown_" + round, value.deepCopy());
            byte[] bytes = PLAIN.writeValueAsBytes(record);

            SessionState read = SessionJsonCodec.fromBytes(bytes);

            assertThat(read.metadata()).isEqualTo(PLAIN.readTree(bytes).get("metadata"));
            assertThat(read.conversationHistory().get(0)).isEqualTo(value);
            assertThat(read.extraFields().get("unknown_" + round)).isEqualTo(value);
            assertThat(PLAIN.readTree(SessionJsonCodec.toBytes(read))).isEqualTo(PLAIN.readTree(bytes));
        }
    }

    @Test
    void aRepeatedKeyInARecordKeepsTheLastValueAsJacksonDoes() throws Exception {
        String small = "{\"a\":1,\"b\":2,\"a\":3}";
        StringBuilder large = new StringBuilder("{");
        for (int i = 0; i < 12; i++) {
            large.append("\"k").append(i).append("\":").append(i).append(',');
        }
        large.append("\"k3\":\"last\"}");
        for (String object : List.of(small, large.toString())) {
            String json = "{\"session_id\":\"dup\",\"user_id\":\"u\",\"project_id\":\"p\","
                    + "\"created_at\":\"2026-01-01T00:00:00Z\",\"metadata\":" + object + "}";
            SessionState read = SessionJsonCodec.fromBytes(json.getBytes(StandardCharsets.UTF_8));
            assertThat(read.metadata()).isEqualTo(PLAIN.readTree(object));
            assertThat(fieldNames(read.metadata())).isEqualTo(fieldNames(PLAIN.readTree(object)));
        }
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static ObjectNode randomObject(Random random, int depth) {
        ObjectNode object = JSON.objectNode();
        int fields = random.nextInt(depth == 0 ? 14 : 5);
        for (int i = 0; i < fields; i++) {
            object.set(randomText(random), randomValue(random, depth + 1));
        }
        return object;
    }

    private static JsonNode randomValue(Random random, int depth) {
        switch (random.nextInt(depth > 6 ? 7 : 9)) {
            case 0: return JSON.textNode(randomText(random));
            case 1: return JSON.numberNode(random.nextInt());
            case 2: return JSON.numberNode(random.nextLong());
            case 3: return JSON.numberNode(new BigInteger(200, random));
            case 4: return JSON.numberNode(random.nextBoolean() ? -0.0 : random.nextGaussian() * 1e10);
            case 5: return JSON.booleanNode(random.nextBoolean());
            case 6: return JSON.nullNode();
            case 7: return randomObject(random, depth);
            default: {
                ArrayNode array = JSON.arrayNode();
                for (int i = random.nextInt(5); i > 0; i--) {
                    array.add(randomValue(random, depth + 1));
                }
                return array;
            }
        }
    }

    private static String randomText(Random random) {
        String[] pieces = {"a", "ü", "😀", "\"", "\\", "\n", "\u0001", "key", " ", "日本"};
        StringBuilder text = new StringBuilder();
        for (int i = random.nextInt(6); i > 0; i--) {
            text.append(pieces[random.nextInt(pieces.length)]);
        }
        return text.toString();
    }
}
