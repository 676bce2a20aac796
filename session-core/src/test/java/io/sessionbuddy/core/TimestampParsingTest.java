package io.sessionbuddy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The hand-written timestamp parser agrees with java.time on every form, and leaves the rest to it. */
class TimestampParsingTest {

    private static Instant general(String text) {
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (java.time.DateTimeException e) {
            return LocalDateTime.parse(text).toInstant(ZoneOffset.UTC);
        }
    }

    @Test
    void agreesWithJavaTimeOnRandomTimestampsInEveryFormWritten() {
        Random random = new Random(11);
        for (int i = 0; i < 20_000; i++) {
            Instant instant = Instant.ofEpochSecond(random.nextInt(Integer.MAX_VALUE) * 2L - Integer.MAX_VALUE,
                    random.nextBoolean() ? 0 : random.nextInt(1_000_000_000));
            ZoneOffset offset = ZoneOffset.ofTotalSeconds((random.nextInt(37) - 18) * 1800);
            List<String> forms = List.of(instant.toString(),
                    LocalDateTime.ofInstant(instant, ZoneOffset.UTC).toString(),
                    OffsetDateTime.ofInstant(instant, offset).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME),
                    LocalDateTime.ofInstant(instant, ZoneOffset.UTC)
                            .format(DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS")));
            for (String form : forms) {
                Instant fast = SessionJsonCodec.parseCommonTimestamp(form);
                if (fast != null) {
                    assertThat(fast).as(form).isEqualTo(general(form));
                }
                assertThat(SessionJsonCodec.parseTimestamp(form)).as(form).isEqualTo(general(form));
            }
            assertThat(SessionJsonCodec.parseCommonTimestamp(instant.toString()))
                    .as("the form this library writes takes the fast path").isNotNull();
        }
    }

    @Test
    void invalidOrUnusualTextIsLeftToTheGeneralParser() {
        for (String text : List.of("2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z",
                "2026-01-01T23:59:60Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567890Z",
                "2026-01-01T00:00:00+19:00", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00z", "x".repeat(25),
                "2026-01-01T00:00:00+0100", "+12026-01-01T00:00:00Z")) {
            assertThat(SessionJsonCodec.parseCommonTimestamp(text)).as(text).isNull();
        }
        assertThatThrownBy(() -> SessionJsonCodec.parseTimestamp("2026-02-30T00:00:00Z"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SessionJsonCodec.parseTimestamp("2026-01-01T00:00:00+0100"))
                .isInstanceOf(IllegalArgumentException.class); // as java.time decides
        assertThat(SessionJsonCodec.parseTimestamp("2026-01-01T00:00:00+01:00"))
                .isEqualTo(Instant.parse("2025-12-31T23:00:00Z"));
    }

    @Test
    void theHandWrittenFormatterWritesWhatInstantToStringWrites() {
        Random random = new Random(17);
        List<Instant> instants = new java.util.ArrayList<>(List.of(Instant.EPOCH, Instant.MIN, Instant.MAX,
                Instant.parse("0000-01-01T00:00:00Z"), Instant.parse("9999-12-31T23:59:59.999999999Z"),
                Instant.parse("-0001-12-31T23:59:59Z"), Instant.parse("+10000-01-01T00:00:00Z"),
                Instant.parse("1969-12-31T23:59:59.5Z"), Instant.parse("2026-11-27T09:15:00.120Z"),
                Instant.parse("2026-11-27T09:15:00.000120Z"), Instant.parse("2026-11-27T09:15:00.000000120Z")));
        for (int i = 0; i < 50_000; i++) {
            long seconds = random.nextLong() % 400_000_000_000L;
            int nanos = switch (random.nextInt(4)) {
                case 0 -> 0;
                case 1 -> random.nextInt(1000) * 1_000_000;
                case 2 -> random.nextInt(1_000_000) * 1000;
                default -> random.nextInt(1_000_000_000);
            };
            instants.add(Instant.ofEpochSecond(seconds, nanos));
        }
        for (Instant instant : instants) {
            assertThat(SessionJsonCodec.formatTimestamp(instant)).as("%s", instant).isEqualTo(instant.toString());
        }
    }

    @Test
    void aSpaceForTheTAndTheZoneOfNaiveTimestampsAreHonoured() {
        java.time.ZoneId newYork = java.time.ZoneId.of("America/New_York");
        assertThat(SessionJsonCodec.parseTimestamp("2026-03-01 14:05:09")).isEqualTo(Instant.parse("2026-03-01T14:05:09Z"));
        assertThat(SessionJsonCodec.parseTimestamp("2026-03-01 14:05:09.123456+02:00"))
                .isEqualTo(Instant.parse("2026-03-01T12:05:09.123456Z"));
        // naive: the writing host's local time (EST in March, EDT in May)
        assertThat(SessionJsonCodec.parseTimestamp("2026-03-01T14:05:09.5", newYork))
                .isEqualTo(Instant.parse("2026-03-01T19:05:09.5Z"));
        assertThat(SessionJsonCodec.parseTimestamp("2026-05-01 14:05:09", newYork))
                .isEqualTo(Instant.parse("2026-05-01T18:05:09Z"));
        // with a zone or offset: kept, whatever the naive zone
        assertThat(SessionJsonCodec.parseTimestamp("2026-03-01T14:05:09Z", newYork))
                .isEqualTo(Instant.parse("2026-03-01T14:05:09Z"));
        assertThat(SessionJsonCodec.parseTimestamp("2026-03-01T14:05:09+00:00", newYork))
                .isEqualTo(Instant.parse("2026-03-01T14:05:09Z"));
        assertThatThrownBy(() -> SessionJsonCodec.parseTimestamp("2026-03-01  14:05:09"))
                .isInstanceOf(IllegalArgumentException.class);

        byte[] json = ("{\"session_id\": \"s\", \"user_id\": \"u\", \"project_id\": \"p\","
                + " \"created_at\": \"2026-03-01 14:05:09\", \"last_activity\": \"2026-03-01T14:06:00+00:00\"}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        SessionState state = SessionJsonCodec.fromBytes(json, 0, json.length, newYork);
        assertThat(state.createdAt()).isEqualTo(Instant.parse("2026-03-01T19:05:09Z"));
        assertThat(state.lastActivity()).isEqualTo(Instant.parse("2026-03-01T14:06:00Z"));
        assertThat(SessionJsonCodec.fromBytes(json).createdAt()).isEqualTo(Instant.parse("2026-03-01T14:05:09Z"));
    }

    @Test
    void monthLengthsAgreeWithJavaTimeIncludingCenturyLeapYears() {
        for (int year : new int[] {1600, 1700, 1900, 1999, 2000, 2023, 2024, 2100, 2400, 9999}) {
            for (int month = 1; month <= 12; month++) {
                assertThat(SessionJsonCodec.lengthOfMonth(year, month)).as(year + "-" + month)
                        .isEqualTo(java.time.YearMonth.of(year, month).lengthOfMonth());
            }
        }
        assertThat(SessionJsonCodec.parseTimestamp("2000-02-29T00:00:00Z")).isEqualTo(Instant.parse("2000-02-29T00:00:00Z"));
        assertThatThrownBy(() -> SessionJsonCodec.parseTimestamp("1900-02-29T00:00:00Z"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
