package io.sessionbuddy.redis;

import io.lettuce.core.api.sync.RedisHashCommands;
import io.sessionbuddy.testkit.RawRecords;
import java.nio.charset.StandardCharsets;

/** The {@code d} field of a session's data hash, read and written with plain Redis commands. */
final class RedisRawRecords implements RawRecords {
    private final RedisHashCommands<byte[], byte[]> commands;
    private final String namespace;

    RedisRawRecords(RedisHashCommands<byte[], byte[]> commands, String namespace) {
        this.commands = commands;
        this.namespace = namespace;
    }

    @Override
    public byte[] read(String sessionId) {
        byte[] record = commands.hget(key(sessionId), field());
        if (record == null) {
            throw new AssertionError("no record at " + namespace + ":{" + sessionId + "}");
        }
        return record;
    }

    @Override
    public void write(String sessionId, byte[] record) {
        commands.hset(key(sessionId), field(), record);
    }

    private byte[] key(String sessionId) {
        return (namespace + ":{" + sessionId + "}").getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] field() {
        return new byte[] {'d'};
    }
}
