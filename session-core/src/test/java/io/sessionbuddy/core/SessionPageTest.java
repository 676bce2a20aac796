package io.sessionbuddy.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The listing order and the page helpers. */
class SessionPageTest {
    /** Compares UTF-8 bytes as unsigned values: what Redis does for members of equal score and S3 for keys. */
    private static int compareUtf8(String a, String b) {
        return Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theOrderIsTheOrderOfTheUtf8BytesNotOfTheUtf16Units() {
        String privateUse = "\ue000";
        String fullwidthTilde = "\uff5e";
        String emoji = "\ud83d\ude00";
        assertThat(emoji.compareTo(fullwidthTilde)).as("String order puts the surrogate pair first").isNegative();
        assertThat(SessionPage.ORDER.compare(emoji, fullwidthTilde)).isPositive();
        assertThat(SessionPage.ORDER.compare(privateUse, emoji)).isNegative();
        assertThat(SessionPage.ORDER.compare("a", "ab")).isNegative();
        assertThat(SessionPage.ORDER.compare("ab", "ab")).isZero();

        // characters from every range that matters: ASCII, two- and three-byte, around the
        // surrogates, private use, and above U+FFFF
        int[] pool = {'a', 'z', '~', 0xe9, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xf8ff, 0xff5e, 0xfffd, 0x10000, 0x1f600,
            0x10ffff};
        Random random = new Random(11);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            StringBuilder id = new StringBuilder();
            for (int n = 1 + random.nextInt(4); n > 0; n--) {
                id.appendCodePoint(pool[random.nextInt(pool.length)]);
            }
            ids.add(id.toString());
        }
        for (int i = 0; i + 1 < ids.size(); i++) {
            String a = ids.get(i);
            String b = ids.get(i + 1);
            assertThat(Integer.signum(SessionPage.ORDER.compare(a, b))).as("%s vs %s", a, b)
                    .isEqualTo(Integer.signum(compareUtf8(a, b)));
        }
    }

    @Test
    void pagesCutFromAListingFollowTheOrderAndResumeAfterTheCursor() {
        List<String> ids = List.of("\ud83d\ude00", "b", "\uff5e", "a");
        SessionPage first = SessionPage.firstOf(ids, null, 2);
        assertThat(first.ids()).containsExactly("a", "b");
        SessionPage second = SessionPage.firstOf(ids, SessionPage.lastIdOf(first.nextCursor()), 2);
        assertThat(second.ids()).containsExactly("\uff5e", "\ud83d\ude00");
        assertThat(second.hasMore()).isFalse();
    }
}
