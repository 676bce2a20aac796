package io.sessionbuddy.file;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * How a session id becomes a file name (of its record and of its index markers), so that names are
 * safe and distinct on every file system, case-insensitive ones included:
 * <ul>
 *   <li>an id of lower-case letters, digits, {@code _}, {@code -} and {@code .} (not first), at most
 *       128 characters, is its own name (generated ids, and every lower-case id of earlier versions);
 *   <li>another id of at most {@link #MAX_BASE32_BYTES} UTF-8 bytes is {@code ~} and the lower-case
 *       base32 of its bytes (RFC 4648 alphabet, no padding): reversible, so listings read it back;
 *   <li>a longer one is {@code ~~} and the SHA-256 of its bytes in hex: names stay within the
 *       255-byte limit of file systems; the id is read from the record itself when listing.
 * </ul>
 * No name holds a character outside {@code [a-z0-9._~-]}, so no id reaches outside the directory
 * ({@code ../x} is {@code ~fyxc66a}) and ids that differ only in case get different names.
 */
final class FileNames {
    /** The longest id (in UTF-8 bytes) written as base32; its name has at most 193 characters. */
    static final int MAX_BASE32_BYTES = 120;
    private static final int MAX_PLAIN = 128;
    private static final char[] BASE32 = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();

    private FileNames() {
    }

    /** The file name (without suffix) of session {@code id}, a valid id. */
    static String of(String id) {
        if (isPlain(id)) {
            return id;
        }
        byte[] bytes = id.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= MAX_BASE32_BYTES) {
            return "~" + base32(bytes);
        }
        try {
            return "~~" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** Whether {@code name} is a hashed name, whose id only its record holds. */
    static boolean isHashed(String name) {
        return name.startsWith("~~");
    }

    /**
     * The id of a name ({@link #of} reversed); {@code null} for a hashed name (read the record) and
     * for a name {@link #of} never makes (a foreign file, or one of an earlier version: see
     * {@link #earlierVersionId}).
     */
    static String id(String name) {
        if (isPlain(name)) {
            return name;
        }
        if (!name.startsWith("~") || isHashed(name)) {
            return null;
        }
        byte[] bytes = unbase32(name, 1);
        if (bytes == null || bytes.length > MAX_BASE32_BYTES) {
            return null;
        }
        try {
            String id = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
            return io.sessionbuddy.core.SessionIds.isValid(id) && of(id).equals(name) ? id : null;
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /**
     * The id of a name written by version 0.1, which used the id itself for ids of
     * {@code [A-Za-z0-9._-]{1,128}}: names with an upper-case letter are such; {@code null} otherwise.
     */
    static String earlierVersionId(String name) {
        if (name.isEmpty() || name.length() > MAX_PLAIN || name.equals(".") || name.equals("..")) {
            return null;
        }
        boolean upper = false;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                upper = true;
            } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
                return null;
            }
        }
        return upper ? name : null;
    }

    private static boolean isPlain(String id) {
        int n = id.length();
        if (n == 0 || n > MAX_PLAIN || id.charAt(0) == '.') {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = id.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
                return false;
            }
        }
        return true;
    }

    static String base32(byte[] bytes) {
        StringBuilder out = new StringBuilder((bytes.length * 8 + 4) / 5);
        int buffer = 0;
        int bits = 0;
        for (byte b : bytes) {
            buffer = (buffer << 8) | (b & 0xff);
            bits += 8;
            while (bits >= 5) {
                out.append(BASE32[(buffer >>> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0) {
            out.append(BASE32[(buffer << (5 - bits)) & 31]);
        }
        return out.toString();
    }

    private static byte[] unbase32(String text, int from) {
        int n = text.length() - from;
        byte[] out = new byte[n * 5 / 8];
        int buffer = 0;
        int bits = 0;
        int o = 0;
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            int v = c >= 'a' && c <= 'z' ? c - 'a' : c >= '2' && c <= '7' ? c - '2' + 26 : -1;
            if (v < 0) {
                return null;
            }
            buffer = (buffer << 5) | v;
            bits += 5;
            if (bits >= 8) {
                out[o++] = (byte) (buffer >>> (bits - 8));
                bits -= 8;
            }
        }
        return o == out.length ? out : null;
    }
}
