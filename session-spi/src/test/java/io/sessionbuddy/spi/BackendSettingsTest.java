package io.sessionbuddy.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sessionbuddy.core.SessionConfigException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BackendSettingsTest {

    @Test
    void typedGettersReadJsonValuesAndStrings() {
        BackendSettings settings = BackendSettings.of("redis", Map.of(
                "port", "6380", "db", 2, "ssl", "TRUE", "timeout", "1500ms", "cleanup", 2.5,
                "nodes", List.of("a:1", "b:2"), "csv", "x, y"));

        assertThat(settings.getInt("port", 6379)).isEqualTo(6380);
        assertThat(settings.getInt("db", 0)).isEqualTo(2);
        assertThat(settings.getBoolean("ssl", false)).isTrue();
        assertThat(settings.getDuration("timeout", Duration.ZERO)).isEqualTo(Duration.ofMillis(1500));
        assertThat(settings.getDuration("cleanup", Duration.ZERO)).isEqualTo(Duration.ofMillis(2500));
        assertThat(settings.getStringList("nodes")).containsExactly("a:1", "b:2");
        assertThat(settings.getStringList("csv")).containsExactly("x", "y");
        assertThat(settings.getString("host", "localhost")).isEqualTo("localhost");
        assertThat(settings.getDuration("missing", Duration.ofSeconds(3))).isEqualTo(Duration.ofSeconds(3));
        assertThat(BackendSettings.of("x", Map.of("d", "PT2M")).getDuration("d", null)).isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void errorsNameTheFullKeyAndSource() {
        BackendSettings settings = new BackendSettings("redis", Map.of("port", "abc", "ssl", "maybe"), "app.json",
                Duration.ofHours(1), java.time.Clock.systemUTC());

        assertThatThrownBy(() -> settings.getInt("port", 1)).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("app.json").hasMessageContaining("backends.redis.port").hasMessageContaining("abc");
        assertThatThrownBy(() -> settings.getBoolean("ssl", false)).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("backends.redis.ssl");
        assertThatThrownBy(() -> settings.requireString("bucket")).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("backends.redis.bucket").hasMessageContaining("required");
    }

    @Test
    void secretValuesAreNotEchoedInErrors() {
        BackendSettings settings = BackendSettings.of("s3", Map.of("secret_key", List.of("hunter2")));

        assertThatThrownBy(() -> settings.getString("secret_key")).isInstanceOf(SessionConfigException.class)
                .hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> BackendSettings.of("r", Map.of("password", "hunter2")).getInt("password", 0))
                .hasMessageNotContaining("hunter2");
    }

    @Test
    void unreadKeysAreReported() {
        BackendSettings settings = BackendSettings.of("redis", Map.of("host", "h", "hots", "typo"));
        settings.getString("host", null);

        assertThat(settings.unreadKeys()).containsExactly("hots");
    }

    @Test
    void aDurationTooLargeToRepresentIsAConfigErrorNotAnOverflow() {
        for (String value : List.of("99999999999999999999d", "PT99999999999999999H", "36501d")) {
            BackendSettings settings = BackendSettings.of("redis", Map.of("timeout", value));
            assertThatThrownBy(() -> settings.getDuration("timeout", Duration.ofSeconds(1)))
                    .isInstanceOf(SessionConfigException.class).hasMessageContaining("backends.redis.timeout");
        }
    }

    @Test
    void durationsWithAndWithoutUnitsAndWhatIsNotOne() {
        Map<String, Duration> accepted = Map.of("250ms", Duration.ofMillis(250), "5", Duration.ofSeconds(5),
                "5 s", Duration.ofSeconds(5), "1.5m", Duration.ofSeconds(90), "2H", Duration.ofHours(2),
                "1d", Duration.ofDays(1), "0.5\ts", Duration.ofMillis(500), "30", Duration.ofSeconds(30));
        accepted.forEach((text, expected) -> assertThat(BackendSettings.of("x", Map.of("d", text)).getDuration("d", null))
                .as(text).isEqualTo(expected));
        for (String text : List.of("", "s", "5x", "5 ms s", "5.", ".5", "-5s", "5e3", "5sec", "1,5s", "\u0665s", "5 5s")) {
            assertThatThrownBy(() -> BackendSettings.of("x", Map.of("d", text)).getDuration("d", null))
                    .as(text).isInstanceOf(SessionConfigException.class).hasMessageContaining("expected a duration");
        }
    }
}
