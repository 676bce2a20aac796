package io.sessionbuddy.core;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Session id generation and validation.
 *
 * <p>Generated ids are 128 random bits from the operating system's generator ({@code /dev/urandom})
 * or {@link SecureRandom}, drawn when the id is made, as 32 lower-case hex characters
 * (hex rather than base64 so that ids stay distinct on case-insensitive file systems).
 *
 * <p>Ids given by callers may be any non-empty string of at most {@link #MAX_UTF8_BYTES} bytes of
 * UTF-8 without control characters (U+0000 to U+001F, U+007F to U+009F) and without unpaired
 * surrogates (which UTF-8 cannot hold): {@code sess 42}, {@code ünïcødé-session},
 * {@code proj:1:abc} and {@code ../x} are all ids, as they were in the original Python store. No
 * backend puts an id into a key, path or object name as it is: each encodes it (the file backend so
 * that names stay distinct on case-insensitive file systems, Redis so that a session's keys stay in
 * one cluster slot whatever braces the id holds, S3 so that object names are safe), so an id cannot
 * reach outside its namespace.
 */
public final class SessionIds {
    /** The most UTF-8 bytes an id may have. */
    public static final int MAX_UTF8_BYTES = 512;

    private static final HexFormat HEX = HexFormat.of();

    private SessionIds() {
    }

    /**
     * A new random session id: 32 hex characters (128 bits).
     *
     * @return A new random session id: 32 hex characters (128 bits)
     */
    public static String generate() {
        byte[] bytes = new byte[16];
        Randomness.fill(bytes);
        return HEX.formatHex(bytes);
    }

    /**
     * Where ids' random bits come from, always drawn at the moment an id is made (never ahead, so no
     * two copies of a restored snapshot share ids). The first {@value #DIRECT_IDS} ids of a process
     * read the operating system's generator ({@code /dev/urandom}, the source the JDK's own
     * {@code NativePRNG} reads) directly: the first {@code SecureRandom} of a process sets up the
     * JDK's security providers, some 12 to 25 ms and 60 classes that a cold start creating one
     * session would pay for one id. Reading the device opens it each time (about 4 µs, so that no
     * descriptor stays open across a checkpoint); from the {@value #DIRECT_IDS}th id on, a
     * {@code SecureRandom} is made on a background thread, and ids come from it once it is there
     * (about 0.2 µs each). Where there is no {@code /dev/urandom} (Windows), or it cannot be read,
     * ids come from {@code SecureRandom} from the first.
     */
    static final class Randomness {
        /** Ids read from the device before a {@code SecureRandom} is made. */
        static final int DIRECT_IDS = 16;
        private static final java.io.File DEVICE = new java.io.File("/dev/urandom");
        private static final java.util.concurrent.atomic.AtomicInteger DIRECT =
                new java.util.concurrent.atomic.AtomicInteger();
        private static volatile SecureRandom secure;
        /** Whether to read the device: not where there is none, nor after a read failed. */
        private static volatile boolean readDevice = DEVICE.canRead();

        private Randomness() {
        }

        static void fill(byte[] bytes) {
            SecureRandom random = secure;
            if (random != null) {
                random.nextBytes(bytes);
                return;
            }
            if (readDevice) {
                if (DIRECT.incrementAndGet() == DIRECT_IDS) {
                    startMaking();
                }
                if (readDevice(bytes)) {
                    return;
                }
                readDevice = false;
            }
            secure().nextBytes(bytes);
        }

        private static void startMaking() {
            try {
                Thread maker = new Thread(Randomness::secure, "session-buddy-secure-random");
                maker.setDaemon(true);
                maker.start();
            } catch (RuntimeException | OutOfMemoryError e) {
                // no thread to be had: the next id makes it on the caller's thread
                readDevice = false;
            }
        }

        /** Reads {@code bytes.length} bytes from the device; {@code false} if it could not. */
        static boolean readDevice(byte[] bytes) {
            try (java.io.FileInputStream in = new java.io.FileInputStream(DEVICE)) {
                int read = 0;
                while (read < bytes.length) {
                    int n = in.read(bytes, read, bytes.length - read);
                    if (n < 0) {
                        return false;
                    }
                    read += n;
                }
                return true;
            } catch (java.io.IOException | SecurityException e) {
                return false;
            }
        }

        private static SecureRandom secure() {
            SecureRandom random = secure;
            if (random == null) {
                synchronized (Randomness.class) {
                    random = secure;
                    if (random == null) {
                        random = new SecureRandom();
                        secure = random;
                    }
                }
            }
            return random;
        }

        /** Whether ids come from a {@code SecureRandom} now (for tests). */
        static boolean usesSecureRandom() {
            return secure != null;
        }
    }

    /**
     * Whether {@code name} is a plain name, as namespaces and key ids must be: 1 to 64 characters,
     * each an ASCII letter, digit, {@code .}, {@code _} or {@code -} ({@code [A-Za-z0-9._-]{1,64}}).
     * Checked by hand: a regular expression would load its engine on every start.
     *
     * @param name a candidate name, may be {@code null}
     * @return whether it is one
     */
    public static boolean isPlainName(String name) {
        if (name == null || name.isEmpty() || name.length() > 64) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
                    || c == '-')) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code id} is an acceptable session id (see the class description).
     *
     * @param id a candidate id, may be {@code null}
     * @return whether it is acceptable
     */
    public static boolean isValid(String id) {
        // a loop, not a regular expression: checked on every call, it allocates nothing
        if (id == null) {
            return false;
        }
        int n = id.length();
        if (n == 0 || n > MAX_UTF8_BYTES) {
            return false;
        }
        int bytes = 0;
        for (int i = 0; i < n; i++) {
            char c = id.charAt(i);
            if (c < 0x80) {
                if (c < 0x20 || c == 0x7f) {
                    return false;
                }
                bytes++;
            } else if (c < 0x800) {
                if (c <= 0x9f) {
                    return false; // C1 controls
                }
                bytes += 2;
            } else if (Character.isHighSurrogate(c)) {
                if (i + 1 >= n || !Character.isLowSurrogate(id.charAt(i + 1))) {
                    return false;
                }
                i++;
                bytes += 4;
            } else if (Character.isLowSurrogate(c)) {
                return false;
            } else {
                bytes += 3;
            }
        }
        return bytes <= MAX_UTF8_BYTES;
    }

    /**
     * Returns {@code id} when it is valid.
     *
     * @param id the id
     * @return {@code id}
     * @throws IllegalArgumentException naming the id (escaped and shortened) and the rule
     */
    public static String requireValid(String id) {
        if (!isValid(id)) {
            throw new IllegalArgumentException("invalid session id " + describe(id)
                    + ": must be 1 to " + MAX_UTF8_BYTES + " bytes of UTF-8 without control characters");
        }
        return id;
    }

    private static String describe(String id) {
        if (id == null) {
            return "null";
        }
        StringBuilder text = new StringBuilder("\"");
        int shown = Math.min(id.length(), 40);
        for (int i = 0; i < shown; i++) {
            char c = id.charAt(i);
            if (Character.isISOControl(c) || Character.isSurrogate(c)) {
                text.append(String.format("\\u%04x", (int) c));
            } else {
                text.append(c);
            }
        }
        if (id.length() > shown) {
            text.append("...");
        }
        return text.append("\" (length ").append(id.length()).append(')').toString();
    }
}
