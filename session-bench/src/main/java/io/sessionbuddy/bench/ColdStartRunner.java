package io.sessionbuddy.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Measures cold starts: for each backend, starts fresh JVMs ({@link ColdStart}) that store and read
 * one session, through the library and through the raw client, and prints a Markdown table of the
 * median wall time from JVM start. Servers (redis-server, S3Proxy) are started here, once, before
 * the measured JVMs.
 *
 * <p>Arguments: {@code [runs]} (default 5).
 */
public final class ColdStartRunner {
    private ColdStartRunner() {
    }

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Path directory = Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()),
                "coldstart-");
        String redis = "127.0.0.1:" + BenchServers.redis().port();
        String s3 = BenchServers.s3().toString();
        out.println("| backend | library (ms, median of " + runs + ") | raw client (ms) | difference (ms) |");
        out.println("|---|---:|---:|---:|");
        for (String backend : List.of("memory", "file", "redis", "s3")) {
            String where = switch (backend) {
                case "file" -> directory.resolve(backend).toString();
                case "redis" -> redis;
                case "s3" -> s3;
                default -> null;
            };
            long library = median(runs, "library", backend, where);
            long raw = median(runs, "raw", backend, where);
            out.printf("| %s | %d | %d | %+d |%n", backend, library, raw, library - raw);
        }
        BenchServers.stop();
        System.exit(0);
    }

    private static long median(int runs, String mode, String backend, String where) throws IOException,
            InterruptedException {
        List<Long> times = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), ColdStart.class.getName(), mode, backend));
            if (where != null) {
                command.add(where);
            }
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String result = null;
            StringBuilder output = new StringBuilder();
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = reader.readLine()) != null; ) {
                    output.append(line).append('\n');
                    if (line.startsWith("coldstart ")) {
                        result = line.substring("coldstart ".length());
                    }
                }
            }
            if (process.waitFor() != 0 || result == null) {
                throw new IllegalStateException("cold start of " + mode + " " + backend + " failed:\n" + output);
            }
            times.add(Long.parseLong(result.trim()));
        }
        Collections.sort(times);
        return times.get(times.size() / 2);
    }
}
