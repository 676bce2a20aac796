package io.sessionbuddy.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Tables for people, JSON for scripts. */
final class Output {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final PrintStream out;
    private final boolean json;

    Output(PrintStream out, boolean json) {
        this.out = out;
        this.json = json;
    }

    boolean json() {
        return json;
    }

    void printJson(Object value) {
        try {
            out.println(JSON.writeValueAsString(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }

    void line(String text) {
        out.println(text);
    }

    /** A table with a header row; columns as wide as their widest cell. */
    void table(List<String> headers, List<List<String>> rows) {
        int[] widths = new int[headers.size()];
        List<List<String>> all = new ArrayList<>();
        all.add(headers);
        all.addAll(rows);
        for (List<String> row : all) {
            for (int i = 0; i < widths.length; i++) {
                widths[i] = Math.max(widths[i], cell(row, i).length());
            }
        }
        for (int r = 0; r < all.size(); r++) {
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < widths.length; i++) {
                String value = cell(all.get(r), i);
                text.append(value);
                if (i < widths.length - 1) {
                    text.append(" ".repeat(widths[i] - value.length() + 2));
                }
            }
            out.println(text.toString().stripTrailing());
            if (r == 0) {
                StringBuilder rule = new StringBuilder();
                for (int i = 0; i < widths.length; i++) {
                    rule.append("-".repeat(widths[i])).append(i < widths.length - 1 ? "  " : "");
                }
                out.println(rule);
            }
        }
    }

    /** Two columns, key and value, nested maps flattened with dots. */
    void keyValues(Map<String, ?> values) {
        List<List<String>> rows = new ArrayList<>();
        flatten("", values, rows);
        table(List.of("key", "value"), rows);
    }

    private static void flatten(String prefix, Map<String, ?> values, List<List<String>> rows) {
        values.forEach((key, value) -> {
            if (value instanceof Map<?, ?> nested) {
                @SuppressWarnings("unchecked")
                Map<String, ?> typed = (Map<String, ?>) nested;
                flatten(prefix + key + ".", typed, rows);
            } else {
                rows.add(List.of(prefix + key, String.valueOf(value)));
            }
        });
    }

    private static String cell(List<String> row, int i) {
        return i < row.size() && row.get(i) != null ? row.get(i) : "";
    }
}
