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
    void validationAcceptsTheOriginalsHexIdsAndRejectsPathTricks() {
        assertThat(SessionIds.isValid("0123456789abcdef")).isTrue();
        assertThat(SessionIds.isValid("a.b_c-D")).isTrue();
        for (String bad : List.of("", ".", "..", "../x", "a/b", "a\\b", "a\nb", "a b", "x".repeat(129))) {
            assertThat(SessionIds.isValid(bad)).as(bad).isFalse();
        }
        assertThatThrownBy(() -> SessionIds.requireValid("a\u0001b"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\\u0001");
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
}
