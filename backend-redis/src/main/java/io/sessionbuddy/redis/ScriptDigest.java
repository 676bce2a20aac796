package io.sessionbuddy.redis;

import java.nio.charset.StandardCharsets;

/**
 * SHA-1 (FIPS 180-4) of a script's text, the name {@code EVALSHA} calls it by.
 *
 * <p>Written out rather than taken from {@code MessageDigest}: the first {@code MessageDigest} of a
 * process sets up the JDK's security providers (about 10 ms and 60 classes of a cold start, which a
 * plain Lettuce program does not pay). Here SHA-1 only names scripts, as Redis does; nothing relies
 * on it being hard to collide. Checked against the JDK's own implementation in the tests.
 */
final class ScriptDigest {
    private ScriptDigest() {
    }

    /**
     * The lowercase hex SHA-1 of {@code text}'s UTF-8 bytes.
     *
     * @param text a script
     * @return 40 hex characters
     */
    static String sha1Hex(String text) {
        return java.util.HexFormat.of().formatHex(sha1(text.getBytes(StandardCharsets.UTF_8)));
    }

    static byte[] sha1(byte[] message) {
        int h0 = 0x67452301;
        int h1 = 0xEFCDAB89;
        int h2 = 0x98BADCFE;
        int h3 = 0x10325476;
        int h4 = 0xC3D2E1F0;
        int blocks = (message.length + 8) / 64 + 1;
        byte[] padded = java.util.Arrays.copyOf(message, blocks * 64);
        padded[message.length] = (byte) 0x80;
        long bits = (long) message.length * 8;
        for (int i = 0; i < 8; i++) {
            padded[padded.length - 1 - i] = (byte) (bits >>> (8 * i));
        }
        int[] w = new int[80];
        for (int block = 0; block < blocks; block++) {
            int offset = block * 64;
            for (int t = 0; t < 16; t++) {
                int at = offset + 4 * t;
                w[t] = (padded[at] & 0xff) << 24 | (padded[at + 1] & 0xff) << 16 | (padded[at + 2] & 0xff) << 8
                        | (padded[at + 3] & 0xff);
            }
            for (int t = 16; t < 80; t++) {
                w[t] = Integer.rotateLeft(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
            }
            int a = h0;
            int b = h1;
            int c = h2;
            int d = h3;
            int e = h4;
            for (int t = 0; t < 80; t++) {
                int f;
                int k;
                if (t < 20) {
                    f = (b & c) | (~b & d);
                    k = 0x5A827999;
                } else if (t < 40) {
                    f = b ^ c ^ d;
                    k = 0x6ED9EBA1;
                } else if (t < 60) {
                    f = (b & c) | (b & d) | (c & d);
                    k = 0x8F1BBCDC;
                } else {
                    f = b ^ c ^ d;
                    k = 0xCA62C1D6;
                }
                int temp = Integer.rotateLeft(a, 5) + f + e + k + w[t];
                e = d;
                d = c;
                c = Integer.rotateLeft(b, 30);
                b = a;
                a = temp;
            }
            h0 += a;
            h1 += b;
            h2 += c;
            h3 += d;
            h4 += e;
        }
        byte[] out = new byte[20];
        int[] h = {h0, h1, h2, h3, h4};
        for (int i = 0; i < 5; i++) {
            out[4 * i] = (byte) (h[i] >>> 24);
            out[4 * i + 1] = (byte) (h[i] >>> 16);
            out[4 * i + 2] = (byte) (h[i] >>> 8);
            out[4 * i + 3] = (byte) h[i];
        }
        return out;
    }
}
