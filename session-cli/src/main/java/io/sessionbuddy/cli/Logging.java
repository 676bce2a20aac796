package io.sessionbuddy.cli;

/** Quiet library logging (slf4j-simple) unless {@code --verbose}: warnings only, on standard error. */
final class Logging {
    private Logging() {
    }

    static void configure(boolean verbose) {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", verbose ? "debug" : "warn");
        }
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
    }
}
