package io.sessionbuddy.core;

/**
 * A session store failed: the server is down, an I/O error happened, a stored record is corrupt,
 * or the store was used after {@code close()}.
 *
 * <p>The message names the backend and, where one is involved, the session id; the cause is kept.
 * Session contents and secrets never appear in the message.
 */
public class SessionStorageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The provider name, or {@code null}. */
    private final String backend;
    /** The session, or {@code null}. */
    private final String sessionId;

    /**
     * @param backend the backend's provider name ({@code memory}, {@code redis}, ...), or {@code null}
     * @param sessionId the session involved, or {@code null} when the failure concerns no one session
     * @param message what went wrong, in one sentence
     * @param cause the underlying failure, or {@code null}
     */
    public SessionStorageException(String backend, String sessionId, String message, Throwable cause) {
        super(format(backend, sessionId, message), cause);
        this.backend = backend;
        this.sessionId = sessionId;
    }

    /**
     * Like {@link #SessionStorageException(String, String, String, Throwable)} without a cause.
     *
     * @param backend the backend's provider name, or {@code null}
     * @param sessionId the session involved, or {@code null}
     * @param message what went wrong
     */
    public SessionStorageException(String backend, String sessionId, String message) {
        this(backend, sessionId, message, null);
    }

    /**
     * The backend's provider name, or {@code null} when not known.
     *
     * @return the backend's provider name, or {@code null} when not known
     */
    public String backend() {
        return backend;
    }

    /**
     * The session involved, or {@code null}.
     *
     * @return the session involved, or {@code null}
     */
    public String sessionId() {
        return sessionId;
    }

    private static String format(String backend, String sessionId, String message) {
        StringBuilder text = new StringBuilder();
        if (backend != null) {
            text.append('[').append(backend).append("] ");
        }
        if (sessionId != null) {
            text.append("session ").append(sessionId).append(": ");
        }
        return text.append(message).toString();
    }
}
