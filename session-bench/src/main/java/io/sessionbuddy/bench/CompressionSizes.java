package io.sessionbuddy.bench;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Prints, as a Markdown table, the compressed size of each benchmark payload per compression. */
public final class CompressionSizes {
    private CompressionSizes() {
    }

    /** Entry point: no arguments. */
    public static void main(String[] args) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        List<String> codecs = List.of("gzip", "zstd-1", "zstd-3", "zstd-3-ctx", "lz4");
        out.println("| payload | JSON bytes | " + String.join(" | ", codecs) + " |");
        out.println("|---|---:|" + "---:|".repeat(codecs.size()));
        for (int size : new int[] {1024, 16384, 1048576}) {
            byte[] json = SessionPayloads.json(size, 42);
            StringBuilder row = new StringBuilder("| " + label(size) + " | " + json.length + " |");
            for (String codec : codecs) {
                byte[] packed = CompressionBenchmark.compress(codec, json);
                row.append(String.format(" %d (%.1f%%) |", packed.length, 100.0 * packed.length / json.length));
            }
            out.println(row);
        }
    }

    static String label(int size) {
        return size >= 1 << 20 ? (size >> 20) + " MiB" : (size >> 10) + " KiB";
    }
}
