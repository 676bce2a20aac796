package io.sessionbuddy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns the JMH JSON of the backend benchmarks into Markdown: per backend, each library operation
 * next to its raw-client baseline from the same run, the ratio (library ops/s ÷ raw ops/s) and
 * whether the goal is met; then listing cost by store size, and contention.
 */
public final class BenchReport {
    /** Library operation → its raw baseline and the goal (lowest acceptable ratio). */
    private static final Map<String, Object[]> PAIRS = new LinkedHashMap<>();

    static {
        PAIRS.put("MemoryBenchmark.retrieve", new Object[] {"MemoryBenchmark.retrieveRaw", 0.5});
        PAIRS.put("MemoryBenchmark.store", new Object[] {"MemoryBenchmark.storeRaw", 0.5});
        PAIRS.put("RedisBenchmark.store", new Object[] {"RedisBenchmark.storeRaw", 0.7});
        PAIRS.put("RedisBenchmark.replace", new Object[] {"RedisBenchmark.storeRaw", 0.7});
        PAIRS.put("RedisBenchmark.retrieve", new Object[] {"RedisBenchmark.retrieveRaw", 0.85});
        PAIRS.put("S3Benchmark.store", new Object[] {"S3Benchmark.storeRaw", 0.8});
        PAIRS.put("S3Benchmark.retrieve", new Object[] {"S3Benchmark.retrieveRaw", 0.8});
        PAIRS.put("FileBenchmark.store", new Object[] {"FileBenchmark.storeRaw", 0.8});
        PAIRS.put("FileBenchmark.retrieve", new Object[] {"FileBenchmark.retrieveRaw", 0.8});
    }

    private BenchReport() {
    }

    /** Entry point: JMH JSON result files. */
    public static void main(String[] args) throws IOException {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        java.util.List<JsonNode> results = new java.util.ArrayList<>();
        for (String file : args) {
            new ObjectMapper().readTree(Path.of(file).toFile()).forEach(results::add);
        }
        Map<String, Map<String, double[]>> scores = new TreeMap<>();
        Map<String, JsonNode> byKey = new LinkedHashMap<>();
        for (JsonNode result : results) {
            String name = shortName(result.path("benchmark").asText());
            String params = params(result);
            double score = result.path("primaryMetric").path("score").asDouble();
            double error = result.path("primaryMetric").path("scoreError").asDouble();
            int inFlight = result.path("params").path("inFlight").asInt(1);
            scores.computeIfAbsent(name, n -> new LinkedHashMap<>()).put(params,
                    new double[] {score * inFlight, error * inFlight});
            byKey.put(name + "|" + params, result);
        }

        out.println("| backend | operation | payload, in flight | library ops/s | raw ops/s | ratio | goal | met |");
        out.println("|---|---|---|---:|---:|---:|---:|---|");
        for (Map.Entry<String, Object[]> pair : PAIRS.entrySet()) {
            Map<String, double[]> library = scores.get(pair.getKey());
            Map<String, double[]> raw = scores.get((String) pair.getValue()[0]);
            if (library == null || raw == null) {
                continue;
            }
            double goal = (Double) pair.getValue()[1];
            for (Map.Entry<String, double[]> row : library.entrySet()) {
                double[] base = raw.get(row.getKey());
                if (base == null) {
                    continue;
                }
                double ratio = row.getValue()[0] / base[0];
                String backend = pair.getKey().substring(0, pair.getKey().indexOf("Benchmark")).toLowerCase();
                String op = pair.getKey().substring(pair.getKey().indexOf('.') + 1) + " vs "
                        + ((String) pair.getValue()[0]).substring(((String) pair.getValue()[0]).indexOf('.') + 1);
                out.printf("| %s | %s | %s | %s | %s | %.2f | %.2f | %s |%n", backend, op, row.getKey(),
                        withError(row.getValue()), withError(base), ratio, goal, ratio >= goal ? "yes" : "**no**");
            }
        }

        Map<String, double[]> list = scores.get("ListBenchmark.listUser");
        if (list != null) {
            out.println();
            out.println("| backend | sessions in store (10 per user) | listSessions(user) ops/s |");
            out.println("|---|---:|---:|");
            list.forEach((params, score) -> out.printf("| %s | %s |%n", params.replace(", ", " | "),
                    withError(score)));
        }

        Map<String, double[]> contention = scores.get("ContentionBenchmark.update");
        if (contention != null) {
            out.println();
            out.println("| backend | successful updates/s (8 threads, 1 session) | conflicts (retries) per update |");
            out.println("|---|---:|---:|");
            contention.forEach((params, score) -> {
                JsonNode result = byKey.get("ContentionBenchmark.update|" + params);
                double conflicts = result.path("secondaryMetrics").path("conflicts").path("score").asDouble();
                out.printf("| %s | %s | %.2f |%n", params, withError(score), conflicts / score[0]);
            });
        }
    }

    /** The score, with JMH's error when it computed one (it needs 3 or more iterations). */
    private static String withError(double[] score) {
        return Double.isNaN(score[1]) ? String.format("%,.0f", score[0])
                : String.format("%,.0f ± %,.0f", score[0], score[1]);
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
