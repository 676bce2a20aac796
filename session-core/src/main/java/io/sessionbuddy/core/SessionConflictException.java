package io.sessionbuddy.core;

/**
 * An optimistic update gave up: every one of its bounded attempts lost a compare-and-set race
 * against other writers of the same session. Nothing was written by the update that failed.
 */
public class SessionConflictException extends SessionStorageException {
    private static final long serialVersionUID = 1L;

    /**
     * @param backend the backend's provider name
     * @param sessionId the contended session
     * @param attempts how many attempts were made
     */
    public SessionConflictException(String backend, String sessionId, int attempts) {
        super(backend, sessionId, "update gave up after " + attempts
                + " attempts: other writers changed the session each time (raise max_update_attempts"
                + " or reduce contention)");
    }
}
