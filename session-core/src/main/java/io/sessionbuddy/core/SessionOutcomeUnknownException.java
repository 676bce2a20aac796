package io.sessionbuddy.core;

/**
 * A write whose outcome is not known: the connection broke or the deadline passed after the write
 * may have reached the store. The change may or may not be stored; read the session to find out
 * before applying it again. {@link SessionManager} settles this case itself where it can (see its
 * class description), so applications mostly see it from direct {@link SessionStorage} calls and
 * from calls that ran past {@code operation_timeout_seconds}.
 */
public class SessionOutcomeUnknownException extends SessionStorageException {
    private static final long serialVersionUID = 1L;

    /**
     * @param backend the backend's provider name
     * @param sessionId the session written
     * @param message what happened
     * @param cause the failure that left the outcome open, or {@code null}
     */
    public SessionOutcomeUnknownException(String backend, String sessionId, String message, Throwable cause) {
        super(backend, sessionId, message, cause);
    }
}
