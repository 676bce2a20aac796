package io.sessionbuddy.core;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Session id generation and validation.
 *
 * <p>Generated ids are 128 random bits from {@link SecureRandom} as 32 lower-case hex characters
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

    /**
     * Made on the first id generated, not when ids are first checked: the first {@code SecureRandom}
     * of a process sets up the JDK's security providers (about 30 ms and 140 classes on this
     * project's machine), which a cold start that only reads existing sessions need not pay.
     */
    private static final class Random {
        static final SecureRandom INSTANCE = new SecureRandom();
    }

    private SessionIds() {
    }

    /**
     * A new random session id: 32 hex characters (128 bits).
     *
     * @return A new random session id: 32 hex characters (128 bits)
     */
    public static String generate() {
        byte[] bytes = new byte[16];
        Random.INSTANCE.nextBytes(bytes);
        return HEX.formatHex(bytes);
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
