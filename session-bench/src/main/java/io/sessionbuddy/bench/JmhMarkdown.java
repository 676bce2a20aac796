package io.sessionbuddy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Turns a JMH JSON result file ({@code -rf json}) into a Markdown table: benchmark, parameters,
 * score with its error, and MB/s of JSON where a {@code size} parameter says how many bytes one
 * operation handles.
 */
public final class JmhMarkdown {
    private JmhMarkdown() {
    }

    /** Entry point: the JMH JSON file. */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: JmhMarkdown <jmh-result.json>");
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        JsonNode results = new ObjectMapper().readTree(Path.of(args[0]).toFile());
        out.println("| benchmark | parameters | ops/s | ± (99.9%) | MB/s |");
        out.println("|---|---|---:|---:|---:|");
        for (JsonNode result : results) {
            String name = result.path("benchmark").asText();
            name = name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1);
            List<String> params = new ArrayList<>();
            Integer size = null;
            for (Iterator<Map.Entry<String, JsonNode>> it = result.path("params").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> param = it.next();
                String value = param.getValue().asText();
                if (param.getKey().equals("size")) {
                    size = Integer.parseInt(value);
                    value = CompressionSizes.label(size);
                }
                params.add(param.getKey() + "=" + value);
            }
            JsonNode metric = result.path("primaryMetric");
            double score = metric.path("score").asDouble();
            double error = metric.path("scoreError").asDouble();
            String mbs = size == null ? "" : String.format("%.0f", score * size / 1_000_000.0);
            out.printf("| %s | %s | %,.0f | %,.0f | %s |%n", name, String.join(", ", params), score,
                    Double.isNaN(error) ? 0 : error, mbs);
        }
    }
}
