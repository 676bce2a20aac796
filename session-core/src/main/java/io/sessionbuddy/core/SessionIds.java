package io.sessionbuddy.core;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Session id generation and validation.
 *
 * <p>Generated ids are 128 random bits from {@link SecureRandom} as 32 lower-case hex characters
 * (hex rather than base64 so that ids stay distinct on case-insensitive file systems). Ids given by
 * callers must match {@code [A-Za-z0-9._-]{1,128}} and must not be {@code .} or {@code ..}, so no
 * backend can be tricked into a path or key outside its namespace.
 */
public final class SessionIds {
    /** The longest id accepted. */
    public static final int MAX_LENGTH = 128;

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final HexFormat HEX = HexFormat.of();

    private SessionIds() {
    }

    /** A new random session id: 32 hex characters (128 bits). */
    public static String generate() {
        byte[] bytes = new byte[16];
        RANDOM.nextBytes(bytes);
        return HEX.formatHex(bytes);
    }

    /** Whether {@code id} is an acceptable session id. */
    public static boolean isValid(String id) {
        // a loop, not a regular expression: checked on every call, it allocates nothing
        if (id == null || id.isEmpty() || id.length() > MAX_LENGTH || id.equals(".") || id.equals("..")) {
            return false;
        }
        for (int i = 0, n = id.length(); i < n; i++) {
            char c = id.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_'
                    || c == '-')) {
                return false;
            }
        }
        return true;
    }

    /**
     * Returns {@code id} when it is valid.
     *
     * @throws IllegalArgumentException naming the id (escaped and shortened) and the rule
     */
    public static String requireValid(String id) {
        if (!isValid(id)) {
            throw new IllegalArgumentException("invalid session id " + describe(id)
                    + ": must match [A-Za-z0-9._-]{1," + MAX_LENGTH + "} and must not be '.' or '..'");
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
            if (c < 0x20 || c == 0x7f) {
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
