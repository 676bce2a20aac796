package io.sessionbuddy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SessionIdsAndStateTest {

    @Test
    void generatedIdsAre128BitHexAndDistinct() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            String id = SessionIds.generate();
            assertThat(id).matches("[0-9a-f]{32}");
            ids.add(id);
        }
        assertThat(ids).hasSize(10_000);
    }

    @Test
    void theFirstIdsReadTheSystemGeneratorAndLaterOnesASecureRandomMadeInTheBackground() throws Exception {
        byte[] one = new byte[16];
        byte[] two = new byte[16];
        assertThat(SessionIds.Randomness.readDevice(one)).as("/dev/urandom is read on this machine").isTrue();
        assertThat(SessionIds.Randomness.readDevice(two)).isTrue();
        assertThat(one).isNotEqualTo(two).isNotEqualTo(new byte[16]);
        // bits look uniform: over 4,096 device reads each of the 128 bit positions is set about half the time
        int[] set = new int[128];
        for (int i = 0; i < 4096; i++) {
            SessionIds.Randomness.readDevice(one);
            for (int bit = 0; bit < 128; bit++) {
                set[bit] += (one[bit / 8] >> (bit % 8)) & 1;
            }
        }
        for (int count : set) {
            assertThat(count).isBetween(1748, 2348); // 2,048 +- 300 (6.6 standard deviations)
        }
        for (int i = 0; i <= SessionIds.Randomness.DIRECT_IDS; i++) {
            SessionIds.generate();
        }
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (!SessionIds.Randomness.usesSecureRandom() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(SessionIds.Randomness.usesSecureRandom()).as("a SecureRandom after the first ids").isTrue();
        assertThat(SessionIds.generate()).matches("[0-9a-f]{32}");
    }

    @Test
    void validationAcceptsEveryIdTheOriginalAcceptedAndRefusesControlCharacters() {
        for (String good : List.of("0123456789abcdef", "a.b_c-D", "sess 42", "ünïcødé-session", "x".repeat(129),
                "proj:1:abc", ".", "..", "../x", "a/b", "a\\b", "{tag}", "}", "日本語", "emoji 🎉",
                "é".repeat(256), "x".repeat(SessionIds.MAX_UTF8_BYTES))) {
            assertThat(SessionIds.isValid(good)).as(good).isTrue();
        }
        for (String bad : List.of("", "a\nb", "a\u0000b", "tab\there", "del\u007f", "c1\u0085", "c1\u009f",
                "x".repeat(SessionIds.MAX_UTF8_BYTES + 1), "é".repeat(257), "lone \ud800", "lone \udc00 low",
                "end \ud83c")) {
            assertThat(SessionIds.isValid(bad)).as(bad).isFalse();
        }
        assertThat(SessionIds.isValid(null)).isFalse();
        // 3-byte and 4-byte characters count as such
        assertThat(SessionIds.isValid("日".repeat(170) + "ab")).isTrue(); // 512 bytes
        assertThat(SessionIds.isValid("日".repeat(171))).isFalse(); // 513 bytes
        assertThat(SessionIds.isValid("🎉".repeat(128))).isTrue(); // 512 bytes
        assertThat(SessionIds.isValid("🎉".repeat(128) + "x")).isFalse();
        assertThatThrownBy(() -> SessionIds.requireValid("a\u0001b"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\\u0001")
                .hasMessageContaining("512 bytes of UTF-8");
    }

    @Test
    void stateIsDeeplyImmutable() {
        ObjectNode metadata = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("a", 1);
        SessionState state = SessionState.builder("s", "u", "p").metadata(metadata).build();

        metadata.put("a", 2);
        assertThatThrownBy(() -> state.metadata().put("a", 3)).isInstanceOf(UnsupportedOperationException.class);

        assertThat(state.metadata().get("a").asInt()).isEqualTo(1);
        assertThatThrownBy(() -> state.permissions().add("x")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void toStringShowsIdsButNoContents() {
        SessionState state = SessionState.builder("s", "u", "p")
                .metadata(Map.of("secret", "hunter2")).build();

        assertThat(state.toString()).contains("s", "u", "p").doesNotContain("hunter2");
    }

    @Test
    void requiredFieldsAreChecked() {
        assertThatThrownBy(() -> SessionState.builder("s", "", "p").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("user_id");
        assertThatThrownBy(() -> SessionState.builder("s", "u", null).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("project_id");
    }

    @Test
    void plainNamesAreOneToSixtyFourAsciiLettersDigitsDotsUnderscoresAndDashes() {
        for (String name : List.of("a", "session", "key-2026_11.v1", "A.B_C-D", "x".repeat(64), ".", "..")) {
            assertThat(SessionIds.isPlainName(name)).as(name).isTrue();
        }
        for (String name : java.util.Arrays.asList(null, "", "x".repeat(65), "a b", "a/b", "a:b", "é", "a\nb", "{x}",
                "\u0661", "ｘ")) {
            assertThat(SessionIds.isPlainName(name)).as(String.valueOf(name)).isFalse();
        }
    }
}
