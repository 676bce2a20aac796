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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Measures cold starts: for each backend, starts fresh JVMs ({@link ColdStart}) that store and read
 * one session, through the library and through the raw client, and prints Markdown tables of the
 * median wall time (thin: from launch to exit, as the parent sees it; else from the JVM's start to
 * the session read back) and the median CPU time of the process. A backend's kinds of run
 * (library, raw client, AppCDS, Spring Session) take turns, run by run. Servers (redis-server,
 * S3Proxy) are started here, once, before the measured JVMs.
 *
 * <p>Arguments: {@code [runs] [--thin DIR]} (default 5 runs). Without {@code --thin} the children
 * run on this JVM's class path (the benchmark uber-jar). With it (see {@code run-coldstart.sh}),
 * each backend's children run on a thin class path, as an application would: {@code DIR/coldstart.jar}
 * (the {@link ColdStart} class) plus the jars listed in {@code DIR/cp-<backend>.txt} (the backend
 * module's runtime dependencies); the classes loaded are counted ({@code -Xlog:class+load}) and
 * each library program is run again with an AppCDS archive made by one training run
 * ({@code -XX:ArchiveClassesAtExit}), and the goals of issue #15 are checked.
 */
public final class ColdStartRunner {
    private static final List<String> BACKENDS = List.of("memory", "file", "redis", "s3");

    private ColdStartRunner() {
    }

    /** One kind of run: medians and the class count. */
    private record Result(long wall, long cpu, long classes) {
    }

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        try {
            measureAll(args);
        } catch (Exception | Error e) {
            e.printStackTrace();
            BenchServers.stop();
            System.exit(1); // S3Proxy's threads would keep the JVM alive
        }
        System.exit(0);
    }

    private static void measureAll(String[] args) throws Exception {
        int runs = 5;
        Path thin = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--thin")) {
                thin = Path.of(args[++i]).toAbsolutePath();
            } else {
                runs = Integer.parseInt(args[i]);
            }
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Path directory = Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()),
                "coldstart-");
        String redis = "127.0.0.1:" + BenchServers.redis().port();
        String s3 = BenchServers.s3().toString();
        Map<String, Result[]> results = new LinkedHashMap<>();
        for (String backend : BACKENDS) {
            String where = switch (backend) {
                case "file" -> directory.resolve(backend).toString();
                case "redis" -> redis;
                case "s3" -> s3;
                default -> null;
            };
            String classPath = thin == null ? System.getProperty("java.class.path")
                    : thin.resolve("coldstart.jar") + java.io.File.pathSeparator
                            + Files.readString(thin.resolve("cp-" + backend + ".txt")).trim();
            // The cells of a backend are run in turn (library, raw, AppCDS, Spring; then again), not
            // one cell's runs in a row: this shared machine drifts, and a drift then spreads over all
            // cells instead of favouring the cell that ran in a quiet minute.
            Cell library = new Cell(classPath, List.of(), "library");
            Cell raw = new Cell(classPath, List.of(), "raw");
            List<Cell> cells = new ArrayList<>(List.of(library, raw));
            Cell cds = null;
            if (thin != null) {
                Path archive = thin.resolve(backend + ".jsa");
                Files.deleteIfExists(archive);
                run(classPath, List.of("-XX:ArchiveClassesAtExit=" + archive), "library", backend, where);
                cds = new Cell(classPath, List.of("-XX:SharedArchiveFile=" + archive), "library");
                cells.add(cds);
            }
            Cell spring = null;
            if (thin != null && backend.equals("redis")) {
                spring = new Cell(thin.resolve("coldstart.jar") + java.io.File.pathSeparator
                        + Files.readString(thin.resolve("cp-spring.txt")).trim(), List.of(), "spring");
                cells.add(spring);
            }
            for (int i = 0; i < runs; i++) {
                for (Cell cell : cells) {
                    long[] result = run(cell.classPath, cell.options, cell.mode, backend, where);
                    cell.walls.add(result[0]);
                    cell.cpus.add(result[1]);
                }
            }
            boolean count = thin != null;
            results.put(backend, new Result[] {library.result(count ? classes(library, backend, where) : -1),
                    raw.result(count ? classes(raw, backend, where) : -1),
                    cds == null ? null : cds.result(-1),
                    spring == null ? null : spring.result(classes(spring, backend, where))});
        }
        BenchServers.stop();
        print(out, runs, thin != null, results);
    }

    private static void print(PrintStream out, int runs, boolean thin, Map<String, Result[]> results) {
        if (!thin) {
            out.println("| backend | library (ms, median of " + runs + ") | raw client (ms) | difference (ms) |");
            out.println("|---|---:|---:|---:|");
            results.forEach((backend, r) -> out.printf("| %s | %d | %d | %+d |%n", backend, r[0].wall(), r[1].wall(),
                    r[0].wall() - r[1].wall()));
            return;
        }
        out.println("| backend | library wall / CPU (ms) | classes loaded | raw client wall / CPU (ms) | raw classes"
                + " | difference wall / CPU (ms) | library with AppCDS wall / CPU (ms) | AppCDS ratio (wall) |");
        out.println("|---|---:|---:|---:|---:|---:|---:|---:|");
        results.forEach((backend, r) -> out.printf("| %s | %d / %d | %,d | %d / %d | %,d | %+d / %+d | %d / %d | %.2f |%n",
                backend, r[0].wall(), r[0].cpu(), r[0].classes(), r[1].wall(), r[1].cpu(), r[1].classes(),
                r[0].wall() - r[1].wall(), r[0].cpu() - r[1].cpu(), r[2].wall(), r[2].cpu(),
                (double) r[2].wall() / r[0].wall()));
        Result spring = results.get("redis")[3];
        out.printf("| redis, Spring Session's RedisSessionRepository | %d / %d | %,d | | | | | |%n", spring.wall(),
                spring.cpu(), spring.classes());
        out.println();
        out.println("Medians of " + runs + " runs per cell, the cells of a backend run in turn; CPU = user + system"
                + " time of the whole process.");
        out.println();
        out.println("| goal (issue #15) | target | measured | met |");
        out.println("|---|---|---:|---|");
        Result[] memory = results.get("memory");
        goal(out, "memory, wall", "≤ 150 ms", memory[0].wall(), memory[0].wall() <= 150);
        goal(out, "memory, CPU", "≤ 250 ms", memory[0].cpu(), memory[0].cpu() <= 250);
        goal(out, "file, wall", "≤ 200 ms", results.get("file")[0].wall(), results.get("file")[0].wall() <= 200);
        Result[] redis = results.get("redis");
        out.printf("| redis, wall vs Spring Session's RedisSessionRepository | ≤ 0.90× | %.2f× | %s |%n",
                (double) redis[0].wall() / spring.wall(), redis[0].wall() <= 0.9 * spring.wall() ? "met" : "**not met**");
        for (String backend : List.of("redis", "s3")) {
            Result[] r = results.get(backend);
            goal(out, backend + ", CPU over the raw client's", "≤ +50 ms", r[0].cpu() - r[1].cpu(),
                    r[0].cpu() - r[1].cpu() <= 50);
        }
        for (String backend : BACKENDS) {
            Result[] r = results.get(backend);
            out.printf("| %s with AppCDS, wall | ≤ 0.60× without | %.3f× | %s |%n", backend,
                    (double) r[2].wall() / r[0].wall(), r[2].wall() <= 0.6 * r[0].wall() ? "met" : "**not met**");
        }
        goal(out, "classes loaded, memory", "≤ 900", memory[0].classes(), memory[0].classes() <= 900);
    }

    private static void goal(PrintStream out, String what, String target, long measured, boolean met) {
        out.printf("| %s | %s | %,d | %s |%n", what, target, measured, met ? "met" : "**not met**");
    }

    /** One kind of run of a backend: its class path, JVM options and mode, and what its runs measured. */
    private static final class Cell {
        final String classPath;
        final List<String> options;
        final String mode;
        final List<Long> walls = new ArrayList<>();
        final List<Long> cpus = new ArrayList<>();

        Cell(String classPath, List<String> options, String mode) {
            this.classPath = classPath;
            this.options = options;
            this.mode = mode;
        }

        Result result(long classes) {
            return new Result(median(walls), median(cpus), classes);
        }
    }

    /** The classes one more run of {@code cell} loads ({@code -Xlog:class+load}). */
    private static long classes(Cell cell, String backend, String where) throws IOException, InterruptedException {
        Path log = Files.createTempFile("classes-", ".log");
        List<String> options = new ArrayList<>(cell.options);
        options.add("-Xlog:class+load:file=" + log);
        run(cell.classPath, options, cell.mode, backend, where);
        try (var lines = Files.lines(log)) {
            return lines.count();
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static long median(List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    /** One child JVM: {wall ms, CPU ms}. */
    private static long[] run(String classPath, List<String> jvmOptions, String mode, String backend, String where)
            throws IOException, InterruptedException {
        boolean thin = !classPath.equals(System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", classPath, ColdStart.class.getName(), mode, backend));
        if (where != null) {
            command.add(where);
        }
        long started = System.nanoTime();
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
        int exit = process.waitFor();
        long wall = (System.nanoTime() - started) / 1_000_000;
        if (exit != 0 || result == null) {
            throw new IllegalStateException("cold start of " + mode + " " + backend + " failed:\n" + output);
        }
        String[] parts = result.trim().split(" ");
        // wall: the whole process as its parent sees it, from launch to exit (the child's own start
        // instant comes from /proc with whole-second boot time, too coarse); CPU: the child's own
        return thin ? new long[] {wall, Long.parseLong(parts[1])} : new long[] {Long.parseLong(parts[0]), Long.parseLong(parts[1])};
    }
}
