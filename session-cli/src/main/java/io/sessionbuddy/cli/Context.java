package io.sessionbuddy.cli;

import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.spi.SessionBuddy;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** What every command shares: output streams, environment, and how a store is opened. */
final class Context {
    /** Where the CLI keeps sessions when no config names a store. */
    static final String DEFAULT_SOURCE = "<default: file backend in ./sessions>";

    final PrintStream out;
    final PrintStream err;
    final Map<String, String> environment;
    final boolean terminal;
    boolean verbose;

    Context(PrintStream out, PrintStream err, Map<String, String> environment, boolean terminal) {
        this.out = out;
        this.err = err;
        this.environment = Map.copyOf(environment);
        this.terminal = terminal;
    }

    /**
     * The configuration of {@code file}; without one, the file named by {@code SESSION_BUDDY_CONFIG},
     * else the file backend in {@code ./sessions} (so that two commands in a row see the same
     * data). Environment overrides apply either way.
     */
    SessionBuddyConfig config(Path file) {
        ConfigLoader loader = new ConfigLoader(environment, Map.of());
        if (file != null) {
            return loader.load(file);
        }
        String named = environment.get(ConfigLoader.CONFIG_FILE_ENV);
        if (named != null && !named.isBlank()) {
            return loader.load(Path.of(named));
        }
        return loader.fromMap(Map.of("storage_backend", "file"), DEFAULT_SOURCE);
    }

    SessionBuddy open(Path file) {
        return SessionBuddy.open(config(file));
    }

    void reportError(Exception error) {
        Throwable cause = error;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        String message = cause instanceof CliException || cause instanceof SessionStorageException
                || cause instanceof SessionConfigException || cause instanceof IllegalArgumentException
                ? cause.getMessage() : cause.toString();
        err.println("session-buddy: " + io.sessionbuddy.core.Secrets.maskUris(String.valueOf(message))
                .replace('\n', ' ').replace('\r', ' '));
        if (verbose) {
            cause.printStackTrace(err);
        }
    }
}
