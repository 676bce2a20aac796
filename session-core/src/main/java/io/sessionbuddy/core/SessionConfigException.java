package io.sessionbuddy.core;

/**
 * The configuration is wrong: an unknown key, a value of the wrong type or out of range, a
 * backend whose provider is not on the classpath. Raised at start-up; the message names the key
 * and the file (or other source) it came from. Secret values are never echoed.
 */
public class SessionConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Where the configuration came from. */
    private final String source;
    /** The key that was wrong, or {@code null}. */
    private final String key;

    /**
     * @param source where the configuration came from (a file path, {@code <defaults>}, ...)
     * @param key the dotted key path that is wrong, or {@code null} when the whole source is wrong
     * @param message what is wrong
     */
    public SessionConfigException(String source, String key, String message) {
        this(source, key, message, null);
    }

    /**
     * Like {@link #SessionConfigException(String, String, String)} with a cause.
     *
     * @param source the file or other source of the configuration
     * @param key the dotted key path that is wrong, or {@code null}
     * @param message what is wrong with it
     * @param cause the cause
     */
    public SessionConfigException(String source, String key, String message, Throwable cause) {
        super(source + (key == null ? "" : ": key '" + key + "'") + ": " + message, cause);
        this.source = source;
        this.key = key;
    }

    /**
     * The file or other source of the configuration.
     *
     * @return the file or other source of the configuration
     */
    public String source() {
        return source;
    }

    /**
     * The dotted key path that is wrong, or {@code null}.
     *
     * @return the dotted key path that is wrong, or {@code null}
     */
    public String key() {
        return key;
    }
}
