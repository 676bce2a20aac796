package io.sessionbuddy.file;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A second JVM for the multi-process tests: {@code write DIR} rewrites sessions forever (until
 * killed), printing a line per 10 writes; {@code increment DIR ID N} increments a counter N times
 * through the session manager.
 */
public final class FileStoreChildProcess {
    private FileStoreChildProcess() {
    }

    public static void main(String[] args) {
        FileSessionStorage storage = FileSessionStorage.builder(Path.of(args[1])).build();
        if (args[0].equals("write")) {
            String payload = "x".repeat(64 * 1024);
            for (long i = 0; ; i++) {
                SessionState state = SessionState.builder("kill-" + (i % 20), "user-" + (i % 3), "p")
                        .createdAt(Instant.now())
                        .metadata(Map.of("i", i, "payload", payload))
                        .permissions(List.of("n" + i))
                        .version(i + 1)
                        .build();
                storage.storeSession(state, Duration.ofHours(1)).join();
                if (i % 10 == 0) {
                    System.out.println("wrote " + i);
                    System.out.flush();
                }
            }
        }
        SessionManager manager = new SessionManager(storage);
        int times = Integer.parseInt(args[3]);
        for (int i = 0; i < times; i++) {
            boolean updated = manager.updateSession(args[2], state -> {
                return state.toBuilder()
                        .putMetadata("count", state.metadata().get("count").asInt() + 1).build();
            }).join().isPresent();
            if (!updated) {
                throw new IllegalStateException("session " + args[2] + " is absent");
            }
        }
        storage.close();
        System.out.println("done");
    }
}
