package io.sessionbuddy.testkit;

/**
 * Direct access to the bytes a storage keeps for a session, bypassing the storage: the contract's
 * stored-format tests use it to damage, truncate and move records as a faulty disk, a bad copy or
 * an attacker would. A backend's test implements it against its real store (files, Redis keys, S3
 * objects) of the storage {@link SessionStorageContract#createStorage} made last.
 */
public interface RawRecords {
    /**
     * The stored bytes of a session that exists.
     *
     * @param sessionId the session
     * @return its record's bytes
     * @throws Exception when the store cannot be read
     */
    byte[] read(String sessionId) throws Exception;

    /**
     * Replaces the stored bytes of a session that exists, leaving everything else as it is.
     *
     * @param sessionId the session
     * @param record the bytes to put in place of its record
     * @throws Exception when the store cannot be written
     */
    void write(String sessionId, byte[] record) throws Exception;
}
