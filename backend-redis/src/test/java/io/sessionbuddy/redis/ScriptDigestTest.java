package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ScriptDigestTest {

    @Test
    void isSha1AsTheJdkComputesItForEveryScriptEveryLengthUpToThreeBlocksAndRandomInputs() throws Exception {
        MessageDigest jdk = MessageDigest.getInstance("SHA-1");
        assertThat(ScriptDigest.sha1Hex("abc")).isEqualTo("a9993e364706816aba3e25717850c26c9cd0d89d");
        assertThat(ScriptDigest.sha1Hex("")).isEqualTo("da39a3ee5e6b4b0d3255bfef95601890afd80709");
        for (RedisScripts script : RedisScripts.values()) {
            assertThat(script.sha1()).as(script.name()).isEqualTo(
                    HexFormat.of().formatHex(jdk.digest(script.body().getBytes(StandardCharsets.UTF_8))));
        }
        Random random = new Random(7);
        for (int length = 0; length <= 3 * 64 + 1; length++) {
            byte[] message = new byte[length];
            random.nextBytes(message);
            assertThat(ScriptDigest.sha1(message)).as("length %d", length).isEqualTo(jdk.digest(message));
        }
        for (int i = 0; i < 2000; i++) {
            byte[] message = new byte[random.nextInt(5000)];
            random.nextBytes(message);
            assertThat(ScriptDigest.sha1(message)).isEqualTo(jdk.digest(message));
        }
    }
}
