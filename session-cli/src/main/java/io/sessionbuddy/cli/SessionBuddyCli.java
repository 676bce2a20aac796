package io.sessionbuddy.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code session-buddy}: inspect, migrate, clean up and health-check a session store from the
 * command line, with the same config file as the library.
 *
 * <p>Exit codes: 0 success, 1 failure (the store failed, a session was not found, a migration had
 * failures), 2 bad usage. Errors go to standard error in one line; {@code --verbose} adds the stack
 * trace.
 */
@Command(name = "session-buddy", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, versionProvider = SessionBuddyCli.Version.class,
        description = "Inspect, migrate, clean up and health-check a Session Buddy store.",
        subcommands = {Commands.Create.class, Commands.Get.class, Commands.ListSessions.class, Commands.Delete.class,
            Commands.Touch.class, Commands.Cleanup.class, Commands.Health.class, Commands.Stats.class,
            Commands.Rewrite.class, MigrateCommand.class, DemoCommand.class})
public final class SessionBuddyCli implements Runnable {
    /** Exit code of a failure. */
    public static final int FAILURE = 1;
    /** Exit code of bad usage. */
    public static final int USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private SessionBuddyCli() {
    }

    /**
     * Runs the command line and exits with its code.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        System.exit(execute(args, new PrintStream(System.out, true, StandardCharsets.UTF_8),
                new PrintStream(System.err, true, StandardCharsets.UTF_8), System.getenv(), isTerminal()));
    }

    /**
     * Whether standard output is a terminal (progress bars) rather than a pipe or file (plain lines):
     * {@code Console.isTerminal()} where the JDK has it (22 and later, where {@code System.console()}
     * is never {@code null}), else whether there is a console at all (JDK 17 to 21).
     */
    @SuppressWarnings("SystemConsoleNull") // the null check is the JDK 17-21 answer; 22+ asks isTerminal()
    static boolean isTerminal() {
        java.io.Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(console);
        } catch (NoSuchMethodException e) {
            return true;
        } catch (ReflectiveOperationException | ClassCastException e) {
            return false;
        }
    }

    /**
     * Runs the command line in this process (what tests call).
     *
     * @param environment the environment variables config overrides are read from
     * @param terminal whether output goes to a terminal (progress bars) or not (plain lines)
     * @return the exit code
     * @param args the command line
     * @param out where results go
     * @param err where errors go
     */
    public static int execute(String[] args, PrintStream out, PrintStream err, Map<String, String> environment,
            boolean terminal) {
        Context context = new Context(out, err, environment, terminal);
        CommandLine line = new CommandLine(new SessionBuddyCli(), new ContextFactory(context));
        line.setOut(new PrintWriter(new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8), true));
        line.setErr(new PrintWriter(new java.io.OutputStreamWriter(err, StandardCharsets.UTF_8), true));
        line.setExitCodeExceptionMapper(e -> FAILURE);
        line.setExecutionExceptionHandler((e, cmd, parsed) -> {
            context.reportError(e);
            if (e instanceof CliException failure) {
                return failure.exitCode();
            }
            // the library checks arguments (ids, values) before it touches the store: a bad one is usage
            return e instanceof IllegalArgumentException ? USAGE : FAILURE;
        });
        line.setParameterExceptionHandler((e, parsed) -> {
            err.println("session-buddy: " + e.getMessage());
            err.println("Try 'session-buddy " + commandPath(e.getCommandLine()) + "--help' for usage.");
            return USAGE;
        });
        return line.execute(args);
    }

    private static String commandPath(CommandLine line) {
        String path = line.getCommandSpec().qualifiedName(" ");
        path = path.startsWith("session-buddy") ? path.substring("session-buddy".length()).trim() : path;
        return path.isEmpty() ? "" : path + " ";
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required (create, get, list,"
                + " delete, touch, cleanup, health, stats, rewrite, migrate, demo)");
    }

    /** The version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = SessionBuddyCli.class.getPackage().getImplementationVersion();
            return new String[] {"session-buddy " + (version == null ? "(development build)" : version)};
        }
    }

    /** Gives every command the shared {@link Context}. */
    private record ContextFactory(Context context) implements CommandLine.IFactory {
        @Override
        public <K> K create(Class<K> type) throws Exception {
            K instance = CommandLine.defaultFactory().create(type);
            if (instance instanceof StoreCommand command) {
                command.context = context;
            }
            return instance;
        }
    }
}
