package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.cluster.SlotHash;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Ids in data keys: a session's key always has the whole id as its hash tag, whatever braces it holds. */
class RedisKeysTest {
    @Test
    void theHashTagIsAlwaysTheWholeIdAndKeysReadBack() {
        for (String id : List.of("plain", "{", "}", "}{", "{a}b", "a}", "{}", "%", "%7B", "%%7D{", "sess 42", "ü{ü}",
                "0123456789abcdef0123456789abcdef")) {
            String middle = RedisSessionStorage.keyId(id);
            String key = "ns:{" + middle + "}";
            assertThat(middle).as(id).doesNotContain("{").doesNotContain("}");
            assertThat(SlotHash.getSlot(key)).as(id).isEqualTo(SlotHash.getSlot(middle));
            assertThat(RedisSessionStorage.idOfKey(middle)).as(id).isEqualTo(id);
        }
        assertThat(RedisSessionStorage.keyId("0123456789abcdef")).as("earlier ids keep their keys")
                .isEqualTo("0123456789abcdef");
        assertThat(RedisSessionStorage.idOfKey("a%7")).isNull();
        assertThat(RedisSessionStorage.idOfKey("a{b")).isNull();
    }
}
