package io.sessionbuddy.core;

/**
 * A write was refused because the session's JSON encoding is larger than {@code max_session_bytes}.
 * Nothing was written: the stored version, if any, is untouched.
 */
public class SessionTooLargeException extends SessionStorageException {
    private static final long serialVersionUID = 1L;

    /** The session's JSON size in bytes. */
    private final long size;
    /** The configured maximum in bytes. */
    private final long limit;

    /**
     * @param backend the backend's provider name, or {@code null} when raised by the codec
     * @param sessionId the session that was to be written
     * @param size its encoded size in bytes
     * @param limit the configured maximum
     */
    public SessionTooLargeException(String backend, String sessionId, long size, long limit) {
        super(backend, sessionId, "is " + size + " bytes encoded, over the limit of " + limit
                + " bytes (max_session_bytes); nothing was written");
        this.size = size;
        this.limit = limit;
    }

    /**
     * The session's encoded size in bytes.
     *
     * @return the session's encoded size in bytes
     */
    public long size() {
        return size;
    }

    /**
     * The configured maximum in bytes.
     *
     * @return the configured maximum in bytes
     */
    public long limit() {
        return limit;
    }
}
