package io.sessionbuddy.core;

import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.format.StoredFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every value a write accepts reads back; every other value is refused with a clear error, never a crash. */
class SessionValueLimitsTest {
    private static final SessionRecordCodec CODEC = new SessionRecordCodec(
            StoredFormat.defaults().withMaxSessionBytes(256 * 1024 * 1024));

    private static SessionState.Builder builder() {
        return SessionState.builder("limits", "u", "p").createdAt(Instant.parse("2024-01-01T00:00:00Z"));
    }

    private static Map<String, Object> nestedMaps(int depth) {
        Map<String, Object> root = new HashMap<>();
        Map<String, Object> current = root;
        for (int i = 1; i < depth; i++) {
            Map<String, Object> next = new HashMap<>();
            current.put("k", next);
            current = next;
        }
        return root;
    }

    private static ObjectNode nestedNodes(int depth) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ObjectNode current = root;
        for (int i = 1; i < depth; i++) {
            current = current.putObject("k");
        }
        return root;
    }

    @Test
    void aLoneSurrogateInAKeyOrStringIsRefused() {
        assertThatThrownBy(() -> builder().metadata(Map.of("k\uD83D", 1)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("metadata").hasMessageContaining("surrogate");
        assertThatThrownBy(() -> builder().metadata(Map.of("k", "x\uDC00y")).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("surrogate");
        assertThatThrownBy(() -> builder().permissions(List.of("\uD83D")).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("permissions");
        assertThatThrownBy(() -> SessionState.builder("limits", "u\uD83D", "p").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("user_id");
        // a proper pair is fine and round-trips
        SessionState ok = builder().metadata(Map.of("k\uD83E\uDD8A", "🦊")).build();
        assertThat(CODEC.decode(CODEC.encode(ok, ""), "", "limits").metadata().get("k🦊").asText()).isEqualTo("🦊");
    }

    @Test
    void numbersJsonCannotHoldAreRefused() {
        assertThatThrownBy(() -> builder().metadata(Map.of("n", new BigInteger("9".repeat(1500)))).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1500 characters");
        assertThatThrownBy(() -> builder().metadata(Map.of("n", Double.NaN)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
        assertThatThrownBy(() -> builder().metadata(Map.of("n", Double.POSITIVE_INFINITY)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Infinity");
        assertThatThrownBy(() -> builder().metadata(JsonNodeFactory.instance.objectNode().put("n", Float.NaN)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
        SessionState big = builder().metadata(Map.of("n", new BigInteger("9".repeat(1000)))).build();
        assertThat(CODEC.decode(CODEC.encode(big, ""), "", "limits").metadata().get("n").bigIntegerValue())
                .isEqualTo(new BigInteger("9".repeat(1000)));
    }

    @Test
    void overlongKeysAndStringsAreRefused() {
        assertThatThrownBy(() -> builder().metadata(Map.of("k".repeat(60_000), 1)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("object key");
        assertThatThrownBy(() -> builder().metadata(Map.of("s", "x".repeat(21_000_000))).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("string of 21000000");
        SessionState longKey = builder().metadata(Map.of("k".repeat(50_000), 1)).build();
        assertThat(CODEC.decode(CODEC.encode(longKey, ""), "", "limits").metadata().size()).isEqualTo(1);
    }

    @Test
    void deepNestingIsRefusedWithAClearErrorNotAStackOverflow() {
        for (int depth : new int[] {1001, 2000, 10_000, 100_000}) {
            assertThatThrownBy(() -> builder().metadata(nestedMaps(depth)).build())
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nested deeper than 1000");
            assertThatThrownBy(() -> builder().metadata(nestedNodes(depth)).build())
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nested deeper than 1000");
        }
        List<ObjectNode> history = List.of(nestedNodes(1000));
        SessionState deepest = builder().metadata(nestedMaps(1000)).conversationHistory(history).build();
        SessionState read = CODEC.decode(CODEC.encode(deepest, ""), "", "limits");
        assertThat(read.metadata()).isEqualTo(deepest.metadata());
        assertThat(read.conversationHistory()).isEqualTo(history);
    }

    @Test
    void aJacksonParseErrorQuotesNoPartOfTheRecord() {
        byte[] plaintext = "{\"session_id\":\"limits\",\"secret\":tokenSECRETVALUE}".getBytes();
        assertThatThrownBy(() -> CODEC.decode(plaintext, "", "limits"))
                .isInstanceOf(CorruptSessionException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("SECRETVALUE"));
    }

    @Test
    void anOlderJacksonOnTheClasspathIsNamedWithTheVersionNeeded() {
        com.fasterxml.jackson.core.Version old = new com.fasterxml.jackson.core.Version(2, 18, 2, null,
                "com.fasterxml.jackson.core", "jackson-databind");
        com.fasterxml.jackson.core.Version current = com.fasterxml.jackson.core.json.PackageVersion.VERSION;
        assertThatThrownBy(() -> JsonSupport.checkJacksonVersion(old, current))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("jackson-databind 2.18.2").hasMessageContaining("needs Jackson 2.23")
                .hasMessageContaining("jackson-bom");
        JsonSupport.checkJacksonVersion(com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION, current);
        // at start the versions are read from the jars' manifests, the same as Jackson's own
        assertThat(JsonSupport.jacksonVersion(true)).isEqualTo(com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION);
        assertThat(JsonSupport.jacksonVersion(false)).isEqualTo(current);
        // a shaded jar's manifest is the application's: not taken for Jackson's
        assertThat(JsonSupport.manifestVersion("my-function", "Example Corp", "1.0.0", true)).isNull();
        assertThat(JsonSupport.manifestVersion("jackson-databind", "FasterXML", "2.18.2", true))
                .isEqualTo(new com.fasterxml.jackson.core.Version(2, 18, 2, null, "com.fasterxml.jackson.core",
                        "jackson-databind"));
        assertThat(JsonSupport.manifestVersion("Jackson-core", "FasterXML", "2.23", false).getMinorVersion())
                .isEqualTo(23);
        assertThat(JsonSupport.manifestVersion("Jackson-core", "FasterXML", "unknown", false)).isNull();
    }

    @Test
    void theCheapSizeBoundIsNeverBelowTheEncodedSize() {
        java.util.Random random = new java.util.Random(42);
        String[] samples = {"", "plain", "ümlaut ß", "日本語テキスト", "🦊🦊", "ctl\u0001\u001f\n\t\"\\", "x".repeat(5000)};
        for (int round = 0; round < 200; round++) {
            Map<String, Object> metadata = new HashMap<>();
            for (int i = 0; i < random.nextInt(20); i++) {
                String key = samples[random.nextInt(samples.length)] + i;
                Object value = switch (random.nextInt(7)) {
                    case 0 -> samples[random.nextInt(samples.length)];
                    case 1 -> random.nextLong();
                    case 2 -> -random.nextDouble() * Math.pow(10, random.nextInt(300) - 150);
                    case 3 -> new BigInteger(990, random);
                    case 4 -> List.of(samples[random.nextInt(samples.length)], random.nextBoolean(), Map.of());
                    case 5 -> Map.of("nested", Map.of("deeper", samples[random.nextInt(samples.length)]));
                    default -> null;
                };
                metadata.put(key, value);
            }
            SessionState state = builder().metadata(metadata)
                    .permissions(List.of(samples[random.nextInt(samples.length)]))
                    .conversationHistory(List.of(nestedNodes(1 + random.nextInt(30)))).build()
                    .withExpiresAt(Instant.parse("2099-12-31T23:59:59.999999999Z"));
            assertThat(SessionJsonCodec.sizeUpperBound(state)).as("round %d", round)
                    .isGreaterThanOrEqualTo(SessionJsonCodec.size(state));
        }
    }
}
