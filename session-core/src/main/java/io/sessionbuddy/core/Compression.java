package io.sessionbuddy.core;

import java.util.Locale;

/**
 * How the stored format compresses a session's JSON. Only payloads of at least
 * {@link StoredFormat#compressionThresholdBytes()} bytes are compressed, and a payload that does
 * not get smaller is stored as it is. The id is written in each record's header, so a store may
 * hold records of several compressions and every one of them reads.
 */
public enum Compression {
    /** Stored as JSON. */
    NONE(0, "none"),
    /** JDK gzip ({@code java.util.zip}); slow, but readable with any tool. */
    GZIP(1, "gzip"),
    /** Zstandard (zstd-jni), level 3: fast, and the smallest output of the three (see the README). */
    ZSTD(2, "zstd");

    private final int id;
    private final String configName;

    Compression(int id, String configName) {
        this.id = id;
        this.configName = configName;
    }

    /** The id written in the record header. */
    public int id() {
        return id;
    }

    /** The name used in configuration ({@code "compression": "zstd"}). */
    public String configName() {
        return configName;
    }

    /** The compression with header id {@code id}, or {@code null}. */
    static Compression byId(int id) {
        for (Compression c : values()) {
            if (c.id == id) {
                return c;
            }
        }
        return null;
    }

    /**
     * The compression named {@code name} in configuration (case-insensitive).
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Compression byConfigName(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        for (Compression c : values()) {
            if (c.configName.equals(wanted)) {
                return c;
            }
        }
        throw new IllegalArgumentException("must be one of \"none\", \"gzip\", \"zstd\", was \"" + name + "\"");
    }
}
