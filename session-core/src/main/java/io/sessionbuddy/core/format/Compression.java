package io.sessionbuddy.core.format;

import io.sessionbuddy.core.SessionStorageException;

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

    /**
     * The id written in the record header.
     *
     * @return the id written in the record header
     */
    public int id() {
        return id;
    }

    /**
     * The name used in configuration ({@code "compression": "zstd"}).
     *
     * @return the name used in configuration ({@code "compression": "zstd"})
     */
    public String configName() {
        return configName;
    }

    /**
     * Whether this compression can be used here: always, except {@link #ZSTD} without
     * {@code com.github.luben:zstd-jni} on the class path (an optional dependency of session-core;
     * the file, Redis and S3 backends bring it). Checked once.
     *
     * @return whether it can be used
     */
    public boolean isAvailable() {
        return this != ZSTD || ZstdCheck.AVAILABLE;
    }

    /**
     * The default compression: {@link #ZSTD} when zstd-jni is on the class path, else {@link #GZIP}
     * (a backend written against session-spi alone works without zstd-jni).
     *
     * @return zstd or gzip
     */
    public static Compression preferred() {
        return ZSTD.isAvailable() ? ZSTD : GZIP;
    }

    /** The failure of a zstd operation without zstd-jni. */
    static SessionStorageException zstdMissing(String sessionId) {
        return new SessionStorageException(null, sessionId, "zstd compression needs com.github.luben:zstd-jni on the"
                + " class path (the file, redis and s3 backends bring it); add it, or set compression to gzip or none"
                + " (records already written with zstd need it to be read)", null);
    }

    /** Looked up once, without initialising zstd-jni (its native library loads on first real use). */
    private static final class ZstdCheck {
        static final boolean AVAILABLE = check();

        private static boolean check() {
            try {
                Class.forName("com.github.luben.zstd.ZstdCompressCtx", false, Compression.class.getClassLoader());
                return true;
            } catch (ClassNotFoundException | LinkageError e) {
                return false;
            }
        }
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
     * @param name {@code none}, {@code gzip} or {@code zstd}
     * @return the compression
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
