package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class RedisScriptsTest {

    @Test
    void eachScriptIsNamedByTheSha1OfItsBody() throws Exception {
        MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
        for (RedisScripts script : RedisScripts.values()) {
            String actual = HexFormat.of().formatHex(sha1.digest(script.body().getBytes(StandardCharsets.UTF_8)));
            assertThat(script.sha1()).as("the SHA-1 written beside %s: its body's is %s", script.name(), actual)
                    .isEqualTo(actual);
        }
    }
}
