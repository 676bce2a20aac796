package io.sessionbuddy.cli;

import io.sessionbuddy.spi.SessionBuddy;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Option;

/** A command that works on the configured store; holds the options every command shares. */
abstract class StoreCommand implements Callable<Integer> {
    Context context;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Config file (the library's JSON shape). Default: $SESSION_BUDDY_CONFIG, else the file"
                    + " backend in ./sessions.")
    Path config;

    @Option(names = "--json", description = "Print JSON for scripts instead of tables.")
    boolean json;

    @Option(names = {"-v", "--verbose"}, description = "Show stack traces and library log messages.")
    boolean verbose;

    @Override
    public final Integer call() throws Exception {
        context.verbose = verbose;
        Logging.configure(verbose);
        return execute();
    }

    /** Opens the store, runs, closes. Commands that need other stores override {@link #execute()}. */
    int execute() throws Exception {
        try (SessionBuddy buddy = context.open(config)) {
            return run(buddy);
        }
    }

    int run(SessionBuddy buddy) throws Exception {
        throw new UnsupportedOperationException(getClass().getSimpleName());
    }

    Output output() {
        return new Output(context.out, json);
    }
}
