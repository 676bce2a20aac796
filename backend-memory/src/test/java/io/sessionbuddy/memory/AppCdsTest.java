package io.sessionbuddy.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's AppCDS recipe, run as written on JDK 17: one training run with
 * {@code -XX:ArchiveClassesAtExit}, then a run with {@code -XX:SharedArchiveFile} that takes the
 * library's classes (and Jackson's and Caffeine's) from the archive.
 */
class AppCdsTest {
    @TempDir
    Path dir;

    @Test
    void aDynamicArchiveFromOneTrainingRunServesTheLibrarysClasses() throws Exception {
        String classPath = jarsOnly(System.getProperty("java.class.path"));
        Path archive = dir.resolve("app.jsa");

        String training = run(List.of("-XX:ArchiveClassesAtExit=" + archive), classPath);
        assertThat(training).contains("read ");
        assertThat(archive).exists();

        String restored = run(List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:class+load=info"), classPath);
        assertThat(restored).contains("read ");
        List<String> ours = restored.lines().filter(l -> l.contains(" io.sessionbuddy.")).toList();
        assertThat(ours).isNotEmpty();
        assertThat(ours).as("every class of the library comes from the archive")
                .allMatch(l -> l.contains("shared objects file"));
        assertThat(restored.lines().filter(l -> l.contains(" com.fasterxml.jackson.")))
                .allMatch(l -> l.contains("shared objects file"));
    }

    private static String run(List<String> options, String classPath) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(options);
        command.addAll(List.of("-cp", classPath, FirstSessionMain.class.getName()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor()).as(output).isZero();
        return output;
    }

    /** The class path with every directory packed into a jar: CDS archives classes from jars only. */
    private String jarsOnly(String classPath) throws IOException {
        List<String> entries = new ArrayList<>();
        int n = 0;
        for (String entry : classPath.split(File.pathSeparator)) {
            Path path = Path.of(entry);
            if (Files.isDirectory(path)) {
                Path jar = dir.resolve("dir" + n++ + ".jar");
                pack(path, jar);
                entries.add(jar.toString());
            } else if (Files.exists(path)) {
                entries.add(entry);
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private static void pack(Path directory, Path jar) throws IOException {
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file);
                Stream<Path> files = Files.walk(directory)) {
            for (Path path : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                out.putNextEntry(new JarEntry(directory.relativize(path).toString().replace(File.separatorChar, '/')));
                Files.copy(path, out);
                out.closeEntry();
            }
        }
    }
}
