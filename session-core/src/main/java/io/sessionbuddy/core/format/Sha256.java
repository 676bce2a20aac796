package io.sessionbuddy.core.format;

/**
 * SHA-256 (FIPS 180-4) of a byte array, for the owner hashes of record headers.
 *
 * <p>The first {@value #WRITTEN_OUT_USES} digests of a process are computed by the code written out
 * here, not by {@code MessageDigest}: the first {@code MessageDigest} of a process sets up the JDK's
 * security providers (about 10 ms and 60 classes of a cold start on the file backend, which hashes
 * the owners of the first session it writes and reads). At the {@value #WRITTEN_OUT_USES}th digest a
 * background thread sets up the JDK's SHA-256, and once it is there every digest uses it: with the
 * processor's SHA instructions it takes about 70 ns for an owner id where the written-out code takes
 * about 330 ns. Both give the same bytes (checked in the tests, for every length up to three blocks
 * and random inputs).
 */
final class Sha256 {
    private static final int[] K = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    };

    /** Digests computed by the written-out code before the JDK's is set up in the background. */
    static final int WRITTEN_OUT_USES = 64;
    private static final java.util.concurrent.atomic.AtomicInteger USES = new java.util.concurrent.atomic.AtomicInteger();
    private static volatile boolean jdkReady;

    private Sha256() {
    }

    /**
     * The SHA-256 digest of {@code message}.
     *
     * @param message the bytes to hash
     * @return 32 bytes
     */
    static byte[] digest(byte[] message) {
        if (jdkReady) {
            return Jdk.DIGESTS.get().digest(message); // digest() also resets it for the next use
        } else if (USES.incrementAndGet() == WRITTEN_OUT_USES) {
            setUpJdkDigest();
        }
        return writtenOut(message);
    }

    /** Whether digests come from the JDK's {@code MessageDigest} now (for tests). */
    static boolean usesJdk() {
        return jdkReady;
    }

    /**
     * The JDK's SHA-256, one per thread: {@code MessageDigest.getInstance} looks the provider's
     * service up and makes the digest by reflection on every call (two per record read, for the
     * owner hashes), a reused one costs neither.
     */
    private static final class Jdk {
        static final ThreadLocal<java.security.MessageDigest> DIGESTS = ThreadLocal.withInitial(Jdk::newDigest);

        private Jdk() {
        }

        static java.security.MessageDigest newDigest() {
            try {
                return java.security.MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is not available in this JDK", e);
            }
        }
    }

    private static void setUpJdkDigest() {
        try {
            Thread setUp = new Thread(() -> {
                try {
                    Jdk.DIGESTS.get();
                    jdkReady = true;
                } catch (IllegalStateException e) {
                    // not expected (every JDK has SHA-256): the written-out code stays
                }
            }, "session-buddy-sha256");
            setUp.setDaemon(true);
            setUp.start();
        } catch (RuntimeException | OutOfMemoryError e) {
            // no thread to be had: the written-out code stays
        }
    }

    /** The digest by the code written out here. */
    static byte[] writtenOut(byte[] message) {
        int[] h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
        // padding: 0x80, zeros, then the length in bits as a big-endian 64-bit number, to a multiple of 64
        int blocks = (message.length + 8) / 64 + 1;
        byte[] padded = java.util.Arrays.copyOf(message, blocks * 64);
        padded[message.length] = (byte) 0x80;
        long bits = (long) message.length * 8;
        for (int i = 0; i < 8; i++) {
            padded[padded.length - 1 - i] = (byte) (bits >>> (8 * i));
        }
        int[] w = new int[64];
        for (int block = 0; block < blocks; block++) {
            int offset = block * 64;
            for (int t = 0; t < 16; t++) {
                int at = offset + 4 * t;
                w[t] = (padded[at] & 0xff) << 24 | (padded[at + 1] & 0xff) << 16 | (padded[at + 2] & 0xff) << 8
                        | (padded[at + 3] & 0xff);
            }
            for (int t = 16; t < 64; t++) {
                int s0 = Integer.rotateRight(w[t - 15], 7) ^ Integer.rotateRight(w[t - 15], 18) ^ (w[t - 15] >>> 3);
                int s1 = Integer.rotateRight(w[t - 2], 17) ^ Integer.rotateRight(w[t - 2], 19) ^ (w[t - 2] >>> 10);
                w[t] = w[t - 16] + s0 + w[t - 7] + s1;
            }
            int a = h[0];
            int b = h[1];
            int c = h[2];
            int d = h[3];
            int e = h[4];
            int f = h[5];
            int g = h[6];
            int hh = h[7];
            for (int t = 0; t < 64; t++) {
                int t1 = hh + (Integer.rotateRight(e, 6) ^ Integer.rotateRight(e, 11) ^ Integer.rotateRight(e, 25))
                        + ((e & f) ^ (~e & g)) + K[t] + w[t];
                int t2 = (Integer.rotateRight(a, 2) ^ Integer.rotateRight(a, 13) ^ Integer.rotateRight(a, 22))
                        + ((a & b) ^ (a & c) ^ (b & c));
                hh = g;
                g = f;
                f = e;
                e = d + t1;
                d = c;
                c = b;
                b = a;
                a = t1 + t2;
            }
            h[0] += a;
            h[1] += b;
            h[2] += c;
            h[3] += d;
            h[4] += e;
            h[5] += f;
            h[6] += g;
            h[7] += hh;
        }
        byte[] out = new byte[32];
        for (int i = 0; i < 8; i++) {
            out[4 * i] = (byte) (h[i] >>> 24);
            out[4 * i + 1] = (byte) (h[i] >>> 16);
            out[4 * i + 2] = (byte) (h[i] >>> 8);
            out[4 * i + 3] = (byte) h[i];
        }
        return out;
    }
}
