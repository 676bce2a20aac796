package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * A profile, not a benchmark: where the CPU of one read goes when 8 threads read one session of
 * 1 KiB, split between this JVM (client: the caller threads, Lettuce's event loop, everything) and
 * redis-server ({@code INFO cpu}), for this library's {@code getSession}, Spring Session's
 * {@code findById} and a raw {@code GET}, and for a web request with sliding expiration through each
 * ({@link SpringSessionComparisonBenchmark}'s set-up and its {@code libraryRequest} and
 * {@code springRequest}). On a
 * machine where the server shares the cores, the sum is what bounds throughput.
 *
 * <p>Run: {@code java -cp session-bench/target/benchmarks.jar io.sessionbuddy.bench.CpuPerRead}
 * (three rounds of 2 s warm-up and 4 s measured per variant; prints one line per round and variant).
 * With an argument, only the variant of that name runs (e.g. {@code "library getSession"} or
 * {@code "Spring Session findById"}), so that a profiler attached to the JVM sees one variant at a time.
 */
public final class CpuPerRead {
    private static final int THREADS = 8;
    private static final List<String> VARIANTS = List.of("library getSession", "library getSession, near cache",
            "Spring Session findById", "raw GET", "library request, sliding expiration", "Spring Session request");

    private CpuPerRead() {
    }

    /**
     * Entry point.
     *
     * @param args optionally, the name of the one variant to run (all when none)
     * @throws Exception when the set-up fails
     */
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && !VARIANTS.contains(args[0])) {
            throw new IllegalArgumentException("no variant named \"" + args[0] + "\"; the variants: " + VARIANTS);
        }
        SpringSessionComparisonBenchmark bench = new SpringSessionComparisonBenchmark();
        bench.setUp();
        RedisClient client = RedisClient.create(BenchServers.redis().uri());
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        var out = new java.io.PrintStream(System.out, true, java.nio.charset.StandardCharsets.UTF_8);
        try (StatefulRedisConnection<String, String> info = client.connect()) {
            for (int round = 1; round <= 3; round++) {
                for (String variant : VARIANTS) {
                    if (args.length > 0 && !variant.equals(args[0])) {
                        continue;
                    }
                    Runnable read = switch (variant) {
                        case "library getSession" -> bench::libraryGet;
                        case "library getSession, near cache" -> bench::libraryGetNearCache;
                        case "Spring Session findById" -> bench::springFindById;
                        case "library request, sliding expiration" -> bench::libraryRequest;
                        case "Spring Session request" -> bench::springRequest;
                        default -> bench::rawGet;
                    };
                    run(read, 2_000); // warm-up
                    double serverBefore = serverCpuSeconds(info.sync().info("cpu"));
                    long clientBefore = os.getProcessCpuTime();
                    long[] measured = run(read, 4_000);
                    long clientNanos = os.getProcessCpuTime() - clientBefore;
                    double serverSeconds = serverCpuSeconds(info.sync().info("cpu")) - serverBefore;
                    double reads = measured[0];
                    out.printf("round %d  %-36s %9.0f reads/s  client CPU %6.2f µs/read  server CPU %6.2f µs/read%n",
                            round, variant, reads / (measured[1] / 1e9), clientNanos / 1e3 / reads,
                            serverSeconds * 1e6 / reads);
                }
            }
        } finally {
            client.shutdown();
            bench.tearDown();
        }
        System.exit(0);
    }

    /** Runs {@code read} on {@link #THREADS} threads for {@code millis}: {reads, elapsed nanos}. */
    private static long[] run(Runnable read, long millis) throws InterruptedException {
        AtomicBoolean stop = new AtomicBoolean();
        LongAdder reads = new LongAdder();
        Thread[] threads = new Thread[THREADS];
        long start = System.nanoTime();
        for (int i = 0; i < THREADS; i++) {
            threads[i] = new Thread(() -> {
                while (!stop.get()) {
                    read.run();
                    reads.increment();
                }
            });
            threads[i].start();
        }
        Thread.sleep(millis);
        stop.set(true);
        for (Thread thread : threads) {
            thread.join();
        }
        return new long[] {reads.sum(), System.nanoTime() - start};
    }

    /** {@code used_cpu_sys + used_cpu_user} of an {@code INFO cpu} reply, in seconds. */
    private static double serverCpuSeconds(String info) {
        double seconds = 0;
        for (String line : info.split("\r?\n", -1)) {
            if (line.startsWith("used_cpu_sys:") || line.startsWith("used_cpu_user:")) {
                seconds += Double.parseDouble(line.substring(line.indexOf(':') + 1));
            }
        }
        return seconds;
    }
}
