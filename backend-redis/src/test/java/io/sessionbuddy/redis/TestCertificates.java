package io.sessionbuddy.redis;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A certificate authority and a server certificate for 127.0.0.1, made by the JDK's own
 * {@code keytool} for one test run: PEM files a TLS redis-server and a client can use.
 */
final class TestCertificates {
    private static final String PASSWORD = "test-store-pass";

    final Path caPem;
    final Path serverCertPem;
    final Path serverKeyPem;

    private TestCertificates(Path caPem, Path serverCertPem, Path serverKeyPem) {
        this.caPem = caPem;
        this.serverCertPem = serverCertPem;
        this.serverKeyPem = serverKeyPem;
    }

    /** A fresh CA and a server certificate signed by it, under {@code dir}. */
    static TestCertificates create(Path dir, String name) throws Exception {
        Files.createDirectories(dir);
        Path ca = dir.resolve(name + "-ca.p12");
        Path server = dir.resolve(name + "-server.p12");
        Path csr = dir.resolve(name + "-server.csr");
        Path caPem = dir.resolve(name + "-ca.pem");
        Path certPem = dir.resolve(name + "-server.pem");
        Path keyPem = dir.resolve(name + "-server.key");
        keytool("-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=" + name + " Test CA",
                "-ext", "bc:c", "-validity", "2", "-keystore", ca.toString(), "-storetype", "PKCS12",
                "-storepass", PASSWORD, "-keypass", PASSWORD);
        keytool("-exportcert", "-alias", "ca", "-rfc", "-file", caPem.toString(), "-keystore", ca.toString(),
                "-storepass", PASSWORD);
        keytool("-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=127.0.0.1",
                "-validity", "2", "-keystore", server.toString(), "-storetype", "PKCS12",
                "-storepass", PASSWORD, "-keypass", PASSWORD);
        keytool("-certreq", "-alias", "server", "-file", csr.toString(), "-keystore", server.toString(),
                "-storepass", PASSWORD);
        keytool("-gencert", "-alias", "ca", "-infile", csr.toString(), "-outfile", certPem.toString(), "-rfc",
                "-ext", "san=ip:127.0.0.1", "-ext", "eku=serverAuth", "-validity", "2",
                "-keystore", ca.toString(), "-storepass", PASSWORD);
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(server)) {
            store.load(in, PASSWORD.toCharArray());
        }
        PrivateKey key = (PrivateKey) store.getKey("server", PASSWORD.toCharArray());
        Files.writeString(keyPem, "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key.getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        return new TestCertificates(caPem, certPem, keyPem);
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException("keytool " + String.join(" ", args) + " failed: " + output);
        }
    }
}
