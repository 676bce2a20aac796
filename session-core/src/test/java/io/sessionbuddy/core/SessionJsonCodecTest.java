package io.sessionbuddy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SessionJsonCodecTest {

    @Test
    void writesTheOriginalFieldNames() {
        SessionState state = SessionState.builder("abc", "u", "p").createdAt(Instant.parse("2024-01-02T03:04:05Z"))
                .permissions(List.of("r")).metadata(Map.of("k", "v")).version(3).build();

        String json = new String(SessionJsonCodec.toBytes(state), StandardCharsets.UTF_8);

        assertThat(json).contains("\"session_id\":\"abc\"", "\"user_id\":\"u\"", "\"project_id\":\"p\"",
                "\"created_at\":\"2024-01-02T03:04:05Z\"", "\"last_activity\"", "\"permissions\":[\"r\"]",
                "\"conversation_history\":[]", "\"reflection_data\":{}", "\"app_monitoring_state\":{}",
                "\"llm_provider_configs\":{}", "\"metadata\":{\"k\":\"v\"}", "\"version\":3");
        assertThat(json).doesNotContain("expires_at");
    }

    @Test
    void readsAnOriginalRecordWithNaiveTimestampsAndNoVersionOrExpiry() {
        String original = """
                {"session_id": "0123456789abcdef", "user_id": "alice", "project_id": "proj",
                 "created_at": "2024-03-01T10:15:30.123456", "last_activity": "2024-03-01T11:00:00",
                 "permissions": [], "conversation_history": [{"role": "user", "content": "hi"}],
                 "reflection_data": {}, "app_monitoring_state": {}, "llm_provider_configs": {}, "metadata": {}}
                """;

        SessionState state = SessionJsonCodec.fromBytes(original.getBytes(StandardCharsets.UTF_8));

        assertThat(state.createdAt()).isEqualTo(Instant.parse("2024-03-01T10:15:30.123456Z"));
        assertThat(state.lastActivity()).isEqualTo(Instant.parse("2024-03-01T11:00:00Z"));
        assertThat(state.version()).isZero();
        assertThat(state.expiresAt()).isNull();
        assertThat(state.conversationHistory()).hasSize(1);
    }

    @Test
    void decimalsReadAsDoubleParseDoubleReadsThemIncludingTheHardCases() {
        java.util.Random random = new java.util.Random(11);
        List<String> texts = new java.util.ArrayList<>(List.of("0.1", "0.30000000000000004", "1e-320", "4.9e-324",
                "2.2250738585072011e-308", "2.2250738585072014e-308", "1.7976931348623157e308",
                "9007199254740993.0", "123456789012345678901234567890.5", "-0.0", "1.00000000000000011102230246251565",
                "7.3177701707893310e+15", "2.5E-3"));
        for (int i = 0; i < 2000; i++) {
            texts.add(Double.toString(Double.longBitsToDouble(random.nextLong() & 0x7fefffffffffffffL)));
            texts.add(String.format(java.util.Locale.ROOT, "%.17g", random.nextDouble() * Math.pow(10, random.nextInt(40) - 20)));
        }
        StringBuilder json = new StringBuilder("{\"session_id\": \"d\", \"user_id\": \"u\", \"project_id\": \"p\","
                + " \"created_at\": \"2024-03-01T10:15:30\", \"last_activity\": \"2024-03-01T11:00:00\","
                + " \"metadata\": {\"numbers\": [");
        for (int i = 0; i < texts.size(); i++) {
            json.append(i == 0 ? "" : ",").append(texts.get(i));
        }
        json.append("]}}");
        SessionState state = SessionJsonCodec.fromBytes(json.toString().getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < texts.size(); i++) {
            assertThat(state.metadata().get("numbers").get(i).doubleValue()).as(texts.get(i))
                    .isEqualTo(Double.parseDouble(texts.get(i)));
        }
    }

    @Test
    void readsTimestampsWithOffsets() {
        assertThat(SessionJsonCodec.parseTimestamp("2024-03-01T12:00:00+02:00"))
                .isEqualTo(Instant.parse("2024-03-01T10:00:00Z"));
    }

    @Test
    void unknownFieldsSurviveARoundTrip() {
        String json = "{\"session_id\":\"x\",\"user_id\":\"u\",\"project_id\":\"p\",\"created_at\":\"2024-01-01T00:00:00Z\","
                + "\"new_field\":{\"deep\":[1,2]}}";

        SessionState state = SessionJsonCodec.fromBytes(json.getBytes(StandardCharsets.UTF_8));
        SessionState again = SessionJsonCodec.fromBytes(SessionJsonCodec.toBytes(state));

        assertThat(again.extraFields().get("new_field").get("deep").get(1).asInt()).isEqualTo(2);
        assertThat(again).isEqualTo(state);
    }

    @Test
    void badRecordsFailWithCorruptSessionExceptionNamingTheField() {
        assertThatThrownBy(() -> SessionJsonCodec.fromBytes("{not json".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(CorruptSessionException.class).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> SessionJsonCodec.fromBytes("[]".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(CorruptSessionException.class).hasMessageContaining("JSON object");
        assertThatThrownBy(() -> SessionJsonCodec.fromBytes(
                "{\"session_id\":\"x\",\"project_id\":\"p\",\"created_at\":\"2024-01-01T00:00:00Z\"}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(CorruptSessionException.class).hasMessageContaining("user_id");
        assertThatThrownBy(() -> SessionJsonCodec.fromBytes(
                "{\"session_id\":\"x\",\"user_id\":\"u\",\"project_id\":\"p\",\"created_at\":\"yesterday\"}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(CorruptSessionException.class).hasMessageContaining("created_at");
        assertThatThrownBy(() -> SessionJsonCodec.fromBytes(
                "{\"session_id\":\"a\\u0001b\",\"user_id\":\"u\",\"project_id\":\"p\",\"created_at\":\"2024-01-01T00:00:00Z\"}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(CorruptSessionException.class).hasMessageContaining("invalid session id");
    }

    @Test
    void aTypeNameInARecordInstantiatesNothing() {
        String json = "{\"session_id\":\"x\",\"user_id\":\"u\",\"project_id\":\"p\",\"created_at\":\"2024-01-01T00:00:00Z\","
                + "\"metadata\":{\"@class\":\"java.lang.ProcessBuilder\",\"command\":[\"sh\"]}}";

        SessionState state = SessionJsonCodec.fromBytes(json.getBytes(StandardCharsets.UTF_8));

        assertThat(state.metadata().get("@class").isTextual()).isTrue();
    }

    @Test
    void theOriginalsNanAndInfinityAreReadAsNullOnlyWhenReadingItsRecords() {
        byte[] json = ("{\"session_id\": \"s\", \"user_id\": \"u\", \"project_id\": \"p\","
                + " \"created_at\": \"2026-03-01T14:05:09\", \"metadata\": {\"score\": NaN, \"max\": Infinity,"
                + " \"min\": -Infinity, \"ok\": 1.5}, \"conversation_history\": [{\"x\": [NaN]}]}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        SessionState state = SessionJsonCodec.fromBytes(json, 0, json.length, java.time.ZoneOffset.UTC, true);
        assertThat(state.metadata().get("score").isNull()).isTrue();
        assertThat(state.metadata().get("max").isNull()).isTrue();
        assertThat(state.metadata().get("min").isNull()).isTrue();
        assertThat(state.metadata().get("ok").doubleValue()).isEqualTo(1.5);
        assertThat(state.conversationHistory().get(0).get("x").get(0).isNull()).isTrue();
        assertThatThrownBy(() -> SessionJsonCodec.fromBytes(json)).isInstanceOf(CorruptSessionException.class);
    }
}
