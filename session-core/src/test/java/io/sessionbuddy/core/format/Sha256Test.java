package io.sessionbuddy.core.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Sha256Test {

    @Test
    void matchesTheStandardVectors() {
        assertThat(hex("")).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assertThat(hex("abc")).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assertThat(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
                .isEqualTo("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }

    @Test
    void matchesTheJdkForEveryLengthUpToThreeBlocksAndForRandomInputs() throws Exception {
        MessageDigest jdk = MessageDigest.getInstance("SHA-256");
        Random random = new Random(42);
        for (int length = 0; length <= 3 * 64 + 1; length++) {
            byte[] message = new byte[length];
            random.nextBytes(message);
            assertThat(Sha256.writtenOut(message)).as("length %d", length).isEqualTo(jdk.digest(message));
            assertThat(Sha256.digest(message)).as("length %d", length).isEqualTo(jdk.digest(message));
        }
        for (int i = 0; i < 2000; i++) {
            byte[] message = new byte[random.nextInt(5000)];
            random.nextBytes(message);
            assertThat(Sha256.digest(message)).isEqualTo(jdk.digest(message));
        }
    }

    @Test
    void afterTheFirstDigestsTheJdksIsSetUpInTheBackgroundAndUsed() throws Exception {
        for (int i = 0; i <= Sha256.WRITTEN_OUT_USES; i++) {
            Sha256.digest(new byte[] {(byte) i});
        }
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (!Sha256.usesJdk() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(Sha256.usesJdk()).isTrue();
        assertThat(hex("abc")).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    @Test
    void ownerHashesAreTheSameAsBefore() throws Exception {
        for (String owner : new String[] {"alice", "ünïcødé", "", "x".repeat(300), "日本語 🎉"}) {
            assertThat(SessionRecordCodec.ownerHash(owner)).isEqualTo(HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(owner.getBytes(StandardCharsets.UTF_8))));
        }
    }

    private static String hex(String text) {
        return HexFormat.of().formatHex(Sha256.digest(text.getBytes(StandardCharsets.US_ASCII)));
    }
}
