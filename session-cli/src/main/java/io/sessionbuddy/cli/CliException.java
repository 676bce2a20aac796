package io.sessionbuddy.cli;

/** A failure the CLI reports in one line, with its exit code. */
final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int exitCode;

    CliException(String message) {
        this(message, SessionBuddyCli.FAILURE);
    }

    CliException(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    int exitCode() {
        return exitCode;
    }
}
