package io.sessionbuddy.redis;

import io.lettuce.core.RedisURI;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import java.util.Map;

/**
 * Another process writing sessions with the event stream on: {@code <port> <namespace> <count>}, or
 * {@code cluster:<port>,<port>,... <namespace> <count>} for a Redis Cluster.
 * Creates {@code count} sessions, updates each once, deletes the first fifth, and tries one
 * compare-and-set that fails (which must append no event); prints each created id.
 */
public final class RedisEventWriterMain {
    private RedisEventWriterMain() {
    }

    public static void main(String[] args) {
        int count = Integer.parseInt(args[2]);
        RedisSessionStorage.Builder builder = args[0].startsWith("cluster:")
                ? RedisSessionStorage.builder().clusterNodes(java.util.Arrays.stream(args[0].substring(8).split(","))
                        .map(port -> RedisURI.create("127.0.0.1", Integer.parseInt(port))).toList())
                : RedisSessionStorage.builder().uri(RedisURI.create("127.0.0.1", Integer.parseInt(args[0])));
        try (RedisSessionStorage storage = builder.namespace(args[1]).eventStream(true, 10_000).build()) {
            SessionManager manager = new SessionManager(storage);
            String[] ids = new String[count];
            for (int i = 0; i < count; i++) {
                ids[i] = manager.createSession("writer-user-" + (i % 3), "writer-project").join();
                System.out.println(ids[i]);
            }
            for (String id : ids) {
                manager.updateSession(id, Map.of("metadata", Map.of("updated", true)), null).join();
            }
            for (int i = 0; i < count / 5; i++) {
                manager.deleteSession(ids[i]).join();
            }
            SessionState last = manager.getSession(ids[count - 1]).join().orElseThrow();
            if (storage.replaceSession(last, last.version() + 10, null).join()) {
                throw new IllegalStateException("a stale compare-and-set succeeded");
            }
        }
    }
}
