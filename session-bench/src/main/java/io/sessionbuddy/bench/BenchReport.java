package io.sessionbuddy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the JMH JSON of the backend benchmarks into Markdown: each library operation next to its
 * raw-client baseline from the same run (ratio = library ops/s ÷ raw ops/s) with the allocation per
 * operation when JMH ran with {@code -prof gc}; listing cost by store size; updates of one session
 * under contention; the mixed workload with latency percentiles; and the hot-path goals (issue
 * #14) each with met / not met.
 *
 * <p>Arguments: JMH JSON result files, and optionally {@code --heap FILE} (the number
 * {@link HeapPerSession} wrote).
 */
public final class BenchReport {
    /** Library operation → its raw baseline. */
    private static final Map<String, String> PAIRS = new LinkedHashMap<>();

    static {
        PAIRS.put("MemoryBenchmark.retrieve", "MemoryBenchmark.retrieveRaw");
        PAIRS.put("MemoryBenchmark.store", "MemoryBenchmark.storeRaw");
        PAIRS.put("RedisBenchmark.retrieve", "RedisBenchmark.retrieveRaw");
        PAIRS.put("RedisBenchmark.store", "RedisBenchmark.storeRaw");
        PAIRS.put("RedisBenchmark.replace", "RedisBenchmark.storeRaw");
        PAIRS.put("FileBenchmark.retrieve", "FileBenchmark.retrieveRaw");
        PAIRS.put("FileBenchmark.store", "FileBenchmark.storeRaw");
        PAIRS.put("S3Benchmark.retrieve", "S3Benchmark.retrieveRaw");
        PAIRS.put("S3Benchmark.store", "S3Benchmark.storeRaw");
    }

    /** One measurement: ops/s (per operation, in-flight batches multiplied out), error, bytes/op. */
    private record Score(double opsPerSecond, double error, double bytesPerOp, JsonNode result) {
    }

    private final Map<String, Map<String, Score>> throughput = new LinkedHashMap<>();
    private final Map<String, Map<String, Score>> sampled = new LinkedHashMap<>();
    private final PrintStream out;

    private BenchReport(PrintStream out) {
        this.out = out;
    }

    /** Entry point: JMH JSON result files, and optionally {@code --heap FILE}. */
    public static void main(String[] args) throws IOException {
        BenchReport report = new BenchReport(new PrintStream(System.out, true, StandardCharsets.UTF_8));
        Long heap = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--heap")) {
                Path file = Path.of(args[++i]);
                heap = Files.exists(file) ? Long.parseLong(Files.readString(file).trim()) : null;
            } else {
                new ObjectMapper().readTree(Path.of(args[i]).toFile()).forEach(report::add);
            }
        }
        report.print(heap);
    }

    private void add(JsonNode result) {
        String name = shortName(result.path("benchmark").asText());
        String params = params(result);
        JsonNode primary = result.path("primaryMetric");
        int inFlight = result.path("params").path("inFlight").asInt(1);
        JsonNode alloc = result.path("secondaryMetrics").path("gc.alloc.rate.norm");
        double bytes = alloc.isMissingNode() ? Double.NaN : alloc.path("score").asDouble() / inFlight;
        if (result.path("mode").asText().equals("sample")) {
            sampled.computeIfAbsent(name, n -> new LinkedHashMap<>()).put(params,
                    new Score(Double.NaN, Double.NaN, bytes, result));
            return;
        }
        double perSecond = perSecond(primary.path("scoreUnit").asText());
        throughput.computeIfAbsent(name, n -> new LinkedHashMap<>()).put(params,
                new Score(primary.path("score").asDouble() * perSecond * inFlight,
                        primary.path("scoreError").asDouble() * perSecond * inFlight, bytes, result));
    }

    private static double perSecond(String unit) {
        return switch (unit) {
            case "ops/ms" -> 1e3;
            case "ops/us" -> 1e6;
            case "ops/ns" -> 1e9;
            default -> 1;
        };
    }

    private void print(Long heapPerSession) {
        out.println("| backend | operation | payload, in flight | library ops/s | raw ops/s | ratio"
                + " | library B/op | raw B/op |");
        out.println("|---|---|---|---:|---:|---:|---:|---:|");
        for (Map.Entry<String, String> pair : PAIRS.entrySet()) {
            Map<String, Score> library = throughput.get(pair.getKey());
            Map<String, Score> raw = throughput.get(pair.getValue());
            if (library == null || raw == null) {
                continue;
            }
            for (Map.Entry<String, Score> row : library.entrySet()) {
                Score base = raw.get(row.getKey());
                if (base == null) {
                    continue;
                }
                String backend = pair.getKey().substring(0, pair.getKey().indexOf("Benchmark")).toLowerCase();
                String op = method(pair.getKey()) + " vs " + method(pair.getValue());
                out.printf("| %s | %s | %s | %s | %s | %.2f | %s | %s |%n", backend, op, row.getKey(),
                        withError(row.getValue()), withError(base), row.getValue().opsPerSecond / base.opsPerSecond,
                        bytes(row.getValue()), bytes(base));
            }
        }

        Map<String, Score> list = throughput.get("ListBenchmark.listUser");
        if (list != null) {
            out.println();
            out.println("| backend | sessions in store (10 per user) | listSessions(user) ops/s |");
            out.println("|---|---:|---:|");
            list.forEach((params, score) -> out.printf("| %s | %s |%n", params.replace(", ", " | "), withError(score)));
        }

        Map<String, Score> contention = throughput.get("ContentionBenchmark.update");
        Map<String, Score> contentionRaw = throughput.getOrDefault("ContentionBenchmark.updateRaw", Map.of());
        if (contention != null) {
            out.println();
            out.println("| backend | successful updates/s (8 threads, 1 session) | conflicts (retries) per update"
                    + " | raw read-then-write loop/s (1 thread) | ratio |");
            out.println("|---|---:|---:|---:|---:|");
            contention.forEach((params, score) -> {
                double conflicts = score.result.path("secondaryMetrics").path("conflicts").path("score").asDouble();
                Score raw = contentionRaw.get(params);
                out.printf("| %s | %s | %.2f | %s | %s |%n", params, withError(score), conflicts / score.opsPerSecond,
                        raw == null ? "" : withError(raw),
                        raw == null ? "" : String.format("%.2f", score.opsPerSecond / raw.opsPerSecond));
            });
        }

        Map<String, Score> mixed = throughput.get("MixedWorkloadBenchmark.library");
        Map<String, Score> mixedRaw = throughput.getOrDefault("MixedWorkloadBenchmark.raw", Map.of());
        if (mixed != null) {
            out.println();
            out.println("Mixed workload: 10,000 sessions of 1 KiB, 8 threads, 90 % getSession / 10 % updateSession;"
                    + " raw = GET, or GET then SET, of the same bytes.");
            out.println();
            out.println("| backend | library ops/s | raw ops/s | ratio | library p50 / p99 (µs) | raw p50 / p99 (µs) |");
            out.println("|---|---:|---:|---:|---:|---:|");
            mixed.forEach((params, score) -> {
                Score raw = mixedRaw.get(params);
                out.printf("| %s | %s | %s | %s | %s | %s |%n", params, withError(score),
                        raw == null ? "" : withError(raw),
                        raw == null ? "" : String.format("%.2f", score.opsPerSecond / raw.opsPerSecond),
                        percentiles("MixedWorkloadBenchmark.library", params),
                        percentiles("MixedWorkloadBenchmark.raw", params));
            });
        }
        printNearCache();
        printGoals(heapPerSession);
    }

    /** The Redis near cache (issue #18): cached vs uncached getSession, 1 thread, and the goal. */
    private void printNearCache() {
        Map<String, Score> cached = throughput.get("NearCacheBenchmark.cached");
        Map<String, Score> uncached = throughput.getOrDefault("NearCacheBenchmark.uncached", Map.of());
        Map<String, Score> raw = throughput.getOrDefault("NearCacheBenchmark.raw", Map.of());
        if (cached == null) {
            return;
        }
        out.println();
        out.println("Redis near cache: getSession through a manager, 1 thread; raw = a Lettuce GET of the same record.");
        out.println();
        out.println("| payload | cached ops/s | uncached ops/s | raw GET ops/s | cached ÷ uncached | goal ≥ 20× |"
                + " cached B/op | uncached B/op |");
        out.println("|---|---:|---:|---:|---:|---|---:|---:|");
        cached.forEach((params, score) -> {
            Score plain = uncached.get(params);
            Score base = raw.get(params);
            double ratio = plain == null ? Double.NaN : score.opsPerSecond / plain.opsPerSecond;
            out.printf("| %s | %s | %s | %s | %,.0f× | %s | %s | %s |%n", params, withError(score),
                    plain == null ? "" : withError(plain), base == null ? "" : withError(base), ratio,
                    met(ratio >= 20), bytes(score), plain == null ? "" : bytes(plain));
        });
    }

    /** The goals of the hot-path issue, each from this run. */
    private void printGoals(Long heapPerSession) {
        List<String[]> rows = new ArrayList<>();
        ratioGoal(rows, "redis", "retrieve, 1 in flight", "RedisBenchmark.retrieve", "RedisBenchmark.retrieveRaw",
                new String[] {"1 KiB, 1", "16 KiB, 1", "256 KiB, 1"}, new double[] {0.85, 0.7, 0.25});
        ratioGoal(rows, "redis", "retrieve, 64 in flight", "RedisBenchmark.retrieve", "RedisBenchmark.retrieveRaw",
                new String[] {"1 KiB, 64", "16 KiB, 64"}, new double[] {0.6, 0.4});
        for (String op : new String[] {"store", "replace"}) {
            ratioGoal(rows, "redis", op + ", 1 in flight", "RedisBenchmark." + op, "RedisBenchmark.storeRaw",
                    new String[] {"1 KiB, 1", "16 KiB, 1"}, new double[] {0.6, 0.5});
            ratioGoal(rows, "redis", op + ", 64 in flight", "RedisBenchmark." + op, "RedisBenchmark.storeRaw",
                    new String[] {"1 KiB, 64"}, new double[] {0.4});
        }
        ratioGoal(rows, "memory", "retrieve", "MemoryBenchmark.retrieve", "MemoryBenchmark.retrieveRaw",
                new String[] {"1 KiB", "16 KiB", "256 KiB"}, new double[] {0.3, 0.3, 0.3});
        absoluteGoal(rows, "memory", "store", "MemoryBenchmark.store", "1 KiB", 1_000_000);
        absoluteGoal(rows, "memory", "store", "MemoryBenchmark.store", "256 KiB", 10_000);
        ratioGoal(rows, "file", "retrieve", "FileBenchmark.retrieve", "FileBenchmark.retrieveRaw",
                new String[] {"1 KiB", "16 KiB"}, new double[] {0.7, 0.5});
        ratioGoal(rows, "s3", "store", "S3Benchmark.store", "S3Benchmark.storeRaw", new String[] {"1 KiB"},
                new double[] {0.6});
        ratioGoal(rows, "s3", "retrieve", "S3Benchmark.retrieve", "S3Benchmark.retrieveRaw", new String[] {"1 KiB"},
                new double[] {0.8});
        for (String backend : new String[] {"Memory", "Redis", "File", "S3"}) {
            String params = backend.equals("Redis") ? "16 KiB, 1" : "16 KiB";
            Score score = throughput.getOrDefault(backend + "Benchmark.retrieve", Map.of()).get(params);
            if (score != null && !Double.isNaN(score.bytesPerOp)) {
                double limit = 6 * 16384;
                rows.add(new String[] {backend.toLowerCase(), "allocation per retrieve", "16 KiB", "≤ 98,304 B",
                        String.format("%,.0f B", score.bytesPerOp), met(score.bytesPerOp <= limit)});
            }
        }
        Score redisUpdate = throughput.getOrDefault("ContentionBenchmark.update", Map.of()).get("redis");
        Score redisRaw = throughput.getOrDefault("ContentionBenchmark.updateRaw", Map.of()).get("redis");
        if (redisUpdate != null && redisRaw != null) {
            double ratio = redisUpdate.opsPerSecond / redisRaw.opsPerSecond;
            rows.add(new String[] {"redis", "updates of one session, 8 threads", "1 KiB",
                    "≥ 0.7× raw GET-then-SET loop", String.format("%.3f×", ratio), met(ratio >= 0.7)});
        }
        Score memoryUpdate = throughput.getOrDefault("ContentionBenchmark.update", Map.of()).get("memory");
        if (memoryUpdate != null) {
            rows.add(new String[] {"memory", "updates of one session, 8 threads", "1 KiB", "≥ 200,000/s",
                    String.format("%,.0f/s", memoryUpdate.opsPerSecond), met(memoryUpdate.opsPerSecond >= 200_000)});
        }
        if (heapPerSession != null) {
            rows.add(new String[] {"memory", "heap per stored session (50,000, 1 KiB string in metadata)", "1 KiB",
                    "≤ 1,700 B", String.format("%,d B", heapPerSession), met(heapPerSession <= 1700)});
        }
        if (rows.isEmpty()) {
            return;
        }
        out.println();
        out.println("| backend | goal (issue #14) | payload | target | measured | met |");
        out.println("|---|---|---|---:|---:|---|");
        for (String[] row : rows) {
            out.println("| " + String.join(" | ", row) + " |");
        }
    }

    private void ratioGoal(List<String[]> rows, String backend, String what, String library, String raw,
            String[] params, double[] goals) {
        for (int i = 0; i < params.length; i++) {
            Score mine = throughput.getOrDefault(library, Map.of()).get(params[i]);
            Score base = throughput.getOrDefault(raw, Map.of()).get(params[i]);
            if (mine == null || base == null) {
                continue;
            }
            double ratio = mine.opsPerSecond / base.opsPerSecond;
            rows.add(new String[] {backend, what + " vs " + method(raw), params[i].replaceAll(", \\d+$", ""),
                    String.format("≥ %.2f×", goals[i]), String.format("%.3f×", ratio), met(ratio >= goals[i])});
        }
    }

    private void absoluteGoal(List<String[]> rows, String backend, String what, String library, String params,
            double goal) {
        Score mine = throughput.getOrDefault(library, Map.of()).get(params);
        if (mine != null) {
            rows.add(new String[] {backend, what, params, String.format("≥ %,.0f ops/s", goal),
                    String.format("%,.0f ops/s", mine.opsPerSecond), met(mine.opsPerSecond >= goal)});
        }
    }

    private static String met(boolean met) {
        return met ? "met" : "**not met**";
    }

    private String percentiles(String name, String params) {
        Score score = sampled.getOrDefault(name, Map.of()).get(params);
        if (score == null) {
            return "";
        }
        JsonNode primary = score.result.path("primaryMetric");
        double scale = switch (primary.path("scoreUnit").asText()) {
            case "ms/op" -> 1e3;
            case "ns/op" -> 1e-3;
            case "s/op" -> 1e6;
            default -> 1;
        };
        JsonNode p = primary.path("scorePercentiles");
        return String.format("%,.0f / %,.0f", p.path("50.0").asDouble() * scale, p.path("99.0").asDouble() * scale);
    }

    private static String method(String benchmark) {
        return benchmark.substring(benchmark.indexOf('.') + 1);
    }

    private static String bytes(Score score) {
        return Double.isNaN(score.bytesPerOp) ? "" : String.format("%,.0f", score.bytesPerOp);
    }

    /** The score, with JMH's error when it computed one (it needs 3 or more iterations). */
    private static String withError(Score score) {
        return Double.isNaN(score.error) ? String.format("%,.0f", score.opsPerSecond)
                : String.format("%,.0f ± %,.0f", score.opsPerSecond, score.error);
    }

    private static String shortName(String benchmark) {
        return benchmark.substring(benchmark.lastIndexOf('.', benchmark.lastIndexOf('.') - 1) + 1);
    }

    private static String params(JsonNode result) {
        StringBuilder text = new StringBuilder();
        JsonNode params = result.path("params");
        for (String key : new String[] {"backend", "sessions", "size", "inFlight"}) {
            if (params.has(key)) {
                String value = params.path(key).asText();
                if (key.equals("size")) {
                    value = CompressionSizes.label(Integer.parseInt(value));
                } else if (key.equals("sessions")) {
                    value = String.format("%,d", Integer.parseInt(value));
                }
                text.append(text.length() == 0 ? "" : ", ").append(value);
            }
        }
        return text.toString();
    }
}
