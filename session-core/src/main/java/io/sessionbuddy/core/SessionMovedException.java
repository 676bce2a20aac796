package io.sessionbuddy.core;

/**
 * The session's id was changed ({@link SessionManager#rotateSessionId}) before this call could
 * change it: the session now lives under {@link #newSessionId()}. Nothing was written by the call
 * that failed; repeat it with the new id if the caller is entitled to it.
 */
public class SessionMovedException extends SessionStorageException {
    private static final long serialVersionUID = 1L;

    /** The id the session moved to. */
    private final String newSessionId;

    /**
     * Creates the exception.
     *
     * @param backend the backend's provider name
     * @param sessionId the old id the call named
     * @param newSessionId the id the session moved to
     */
    public SessionMovedException(String backend, String sessionId, String newSessionId) {
        super(backend, sessionId, "the session's id was rotated to " + newSessionId
                + " before this change could land: nothing was written; use the new id");
        this.newSessionId = newSessionId;
    }

    /**
     * The id the session moved to.
     *
     * @return the new session id
     */
    public String newSessionId() {
        return newSessionId;
    }
}
