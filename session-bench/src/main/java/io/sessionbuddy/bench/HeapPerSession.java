package io.sessionbuddy.bench;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.memory.MemorySessionStorage;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * Heap held per stored session by the memory backend: 50,000 sessions, each with a distinct 1 KiB
 * string in its metadata, stored through {@link MemorySessionStorage}, and the same states put in
 * a raw Caffeine cache; retained heap measured after full GCs ({@code used} of all pools). Run in
 * a fresh JVM ({@code java -cp benchmarks.jar io.sessionbuddy.bench.HeapPerSession [FILE]}); prints
 * one Markdown table, and writes the memory backend's bytes per session to {@code FILE} when given
 * (for {@link BenchReport}'s goals).
 */
public final class HeapPerSession {
    private static final int SESSIONS = 50_000;

    private HeapPerSession() {
    }

    /** Entry point. */
    public static void main(String[] args) throws java.io.IOException {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        long empty = usedAfterGc();
        MemorySessionStorage storage = MemorySessionStorage.builder().maximumSize(SESSIONS * 2L).build();
        for (int i = 0; i < SESSIONS; i++) {
            storage.storeSession(session(i), null).join();
        }
        long library = usedAfterGc() - empty;
        long kept = storage.listSessions("user-1", null).join().size(); // reachable until measured
        storage.close();
        storage = null;
        long base = usedAfterGc();
        Cache<String, SessionState> raw = Caffeine.newBuilder().maximumSize(SESSIONS * 2L)
                .expireAfterWrite(Duration.ofHours(24)).build();
        for (int i = 0; i < SESSIONS; i++) {
            SessionState state = session(i);
            raw.put(state.sessionId(), state);
        }
        long cached = usedAfterGc() - base;
        out.println("| store | sessions | heap per session (bytes) |");
        out.println("|---|---:|---:|");
        out.printf("| memory backend | %,d | %,d |%n", SESSIONS, library / SESSIONS);
        out.printf("| the same states in a raw Caffeine cache | %,d | %,d |%n", raw.estimatedSize(),
                cached / SESSIONS);
        if (args.length > 0) {
            java.nio.file.Files.writeString(java.nio.file.Path.of(args[0]), Long.toString(library / SESSIONS));
        }
        if (kept != SESSIONS / 1000) {
            throw new IllegalStateException("sessions of user-1: " + kept);
        }
    }

    private static SessionState session(int i) {
        String id = String.format("%032x", i);
        char[] filler = new char[1024];
        java.util.Arrays.fill(filler, (char) ('a' + i % 26));
        String note = i + new String(filler).substring(String.valueOf(i).length());
        return SessionState.builder(id, "user-" + (i % 1000), "project-" + (i % 10))
                .metadata(Map.of("note", note)).build();
    }

    private static long usedAfterGc() {
        for (int i = 0; i < 4; i++) {
            System.gc();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
