package io.sessionbuddy.core;

import java.util.Objects;

/**
 * A stored record could not be decoded: it is truncated, tampered with, encrypted with a key this
 * process does not hold, written for another session, in a newer format, or not a valid session.
 * The record is left where it is; listings skip it. {@link #reason()} tells the cases apart.
 */
public class CorruptSessionException extends SessionStorageException {
    private static final long serialVersionUID = 1L;

    /** Why a record could not be decoded. */
    public enum Reason {
        /** Not valid JSON, a required field missing or of the wrong type, or a malformed header. */
        MALFORMED,
        /** Shorter than its header says: a cut-off write or copy. */
        TRUNCATED,
        /** The payload's checksum does not match: the bytes changed after they were written. */
        CHECKSUM_MISMATCH,
        /** Written in a newer stored-format version than this library reads. */
        UNSUPPORTED_VERSION,
        /** Encrypted with a key id that is not in the configured key ring. */
        UNKNOWN_KEY,
        /** The key ring has the key id, but with other key material. */
        WRONG_KEY,
        /** Written for another session id or namespace (a record copied or moved). */
        WRONG_SESSION,
        /** AES-GCM authentication failed: the encrypted bytes were tampered with. */
        AUTHENTICATION_FAILED,
        /** Decodes to more than the configured maximum size. */
        TOO_LARGE,
        /**
         * Not encrypted although encryption keys are configured and {@code encryption_required} is on:
         * possibly planted by someone who can write to the store.
         */
        NOT_ENCRYPTED,
        /**
         * The record's version is not the version the store keeps beside it (Redis hash field,
         * S3 metadata): an older record was put back in place of a newer one (a replay).
         */
        VERSION_MISMATCH
    }

    /** Why the record could not be decoded. */
    private final Reason reason;

    /**
     * @param backend the backend's provider name, or {@code null} when raised by the codec
     * @param sessionId the session, or {@code null} when not known
     * @param message what is wrong and where (a key or a path)
     * @param cause the decoding failure, or {@code null}
     */
    public CorruptSessionException(String backend, String sessionId, String message, Throwable cause) {
        this(backend, sessionId, message, Reason.MALFORMED, cause);
    }

    /**
     * @param backend the backend's provider name, or {@code null} when raised by the codec
     * @param sessionId the session, or {@code null} when not known
     * @param message what is wrong and where (a key or a path)
     * @param reason why the record could not be decoded
     * @param cause the decoding failure, or {@code null}
     */
    public CorruptSessionException(String backend, String sessionId, String message, Reason reason,
            Throwable cause) {
        super(backend, sessionId, message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /**
     * Why the record could not be decoded.
     *
     * @return why the record could not be decoded
     */
    public Reason reason() {
        return reason;
    }
}
