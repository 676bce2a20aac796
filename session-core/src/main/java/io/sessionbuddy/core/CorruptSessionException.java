package io.sessionbuddy.core;

/**
 * A stored record could not be decoded: it is not valid JSON, lacks a required field, or has a
 * field of the wrong type. The record is left where it is; listings skip it.
 */
public class CorruptSessionException extends SessionStorageException {
    private static final long serialVersionUID = 1L;

    /**
     * @param backend the backend's provider name, or {@code null} when raised by the codec
     * @param sessionId the session, or {@code null} when not known
     * @param message what is wrong and where (a key or a path)
     * @param cause the decoding failure, or {@code null}
     */
    public CorruptSessionException(String backend, String sessionId, String message, Throwable cause) {
        super(backend, sessionId, message, cause);
    }
}
