package io.sessionbuddy.bench;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.spi.SessionBuddy;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * One cold start, in a fresh JVM: the time from the JVM's start to the first session stored and read
 * back, through {@code SessionBuddy.open(config)} ({@code library}) or through the raw client
 * ({@code raw}). Prints {@code coldstart <wall milliseconds> <CPU milliseconds>} (CPU of the whole
 * process: every thread, JIT and GC included). Run by {@link ColdStartRunner}, on a thin class path
 * (the backend module's runtime dependencies and this class) by {@code run-coldstart.sh}: it uses
 * nothing of the benchmark module but the S3 test credentials, repeated here.
 *
 * <p>Arguments: {@code library|raw memory|file|redis|s3 [directory | host:port | endpoint] [key=value ...]}
 * (the key=value pairs go into the backend's settings block, library only).
 */
public final class ColdStart {
    /** The S3 test server's credentials ({@code S3TestServer}, not on a thin class path). */
    static final String ACCESS_KEY = "test-access-key";
    static final String SECRET_KEY = "test-secret-key-do-not-log";
    private ColdStart() {
    }

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String backend = args[1];
        String where = args.length > 2 ? args[2] : null;
        if (mode.equals("library")) {
            library(backend, where, java.util.Arrays.asList(args).subList(Math.min(3, args.length), args.length));
        } else if (mode.equals("spring")) {
            SpringRedis.run(where);
        } else {
            raw(backend, where);
        }
        ProcessHandle.Info info = ProcessHandle.current().info();
        long millis = Duration.between(info.startInstant().orElseThrow(), Instant.now()).toMillis();
        long cpu = info.totalCpuDuration().map(Duration::toMillis).orElse(-1L);
        new PrintStream(System.out, true, StandardCharsets.UTF_8).println("coldstart " + millis + " " + cpu);
        System.exit(0);
    }

    private static void library(String backend, String where, java.util.List<String> settings) {
        Map<String, Object> block = new LinkedHashMap<>();
        for (String setting : settings) { // more settings of the backend's block, key=value
            block.put(setting.substring(0, setting.indexOf('=')), setting.substring(setting.indexOf('=') + 1));
        }
        switch (backend) {
            case "file" -> block.put("directory", where);
            case "redis" -> {
                block.put("host", where.substring(0, where.indexOf(':')));
                block.put("port", where.substring(where.indexOf(':') + 1));
            }
            case "s3" -> {
                block.put("bucket", "bench");
                block.put("endpoint", where);
                block.put("path_style", true);
                block.put("access_key", ACCESS_KEY);
                block.put("secret_key", SECRET_KEY);
            }
            default -> { }
        }
        Map<String, Object> config = Map.of("storage_backend", backend, "backends", Map.of(backend, block));
        try (SessionBuddy buddy = SessionBuddy.open(new ConfigLoader(Map.of(), Map.of()).fromMap(config, "<bench>"))) {
            SessionManager sessions = buddy.manager();
            String id = sessions.createSession("user", "project", Map.of("theme", "dark"), null).join();
            sessions.getSession(id).join().orElseThrow();
        }
    }

    private static void raw(String backend, String where) throws Exception {
        byte[] record = "{\"session_id\":\"cold\",\"user_id\":\"user\",\"project_id\":\"project\"}"
                .getBytes(StandardCharsets.UTF_8);
        // one nested class per client: a thin class path holds only that backend's client, and
        // the JVM loads a client's types when it verifies the code that uses them
        switch (backend) {
            case "memory" -> RawMemory.run(record);
            case "file" -> RawFile.run(record, where);
            case "redis" -> RawRedis.run(record, where);
            case "s3" -> RawS3.run(record, where);
            default -> throw new IllegalArgumentException(backend);
        }
    }

    private static final class RawMemory {
        static void run(byte[] record) {
            Cache<String, byte[]> cache = Caffeine.newBuilder().maximumSize(100_000)
                    .expireAfterWrite(Duration.ofHours(24)).build();
            cache.put("cold", record);
            require(cache.getIfPresent("cold"));
        }
    }

    private static final class RawFile {
        static void run(byte[] record, String where) throws Exception {
            Path dir = Files.createDirectories(Path.of(where, "raw"));
            Path temp = dir.resolve("cold.tmp");
            try (var channel = java.nio.channels.FileChannel.open(temp, StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                channel.write(java.nio.ByteBuffer.wrap(record));
                channel.force(true);
            }
            Files.move(temp, dir.resolve("cold"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            require(Files.readAllBytes(dir.resolve("cold")));
        }
    }

    private static final class RawRedis {
        static void run(byte[] record, String where) {
            RedisClient client = RedisClient.create("redis://" + where);
            try (StatefulRedisConnection<String, String> connection = client.connect()) {
                connection.sync().set("cold", new String(record, StandardCharsets.UTF_8), SetArgs.Builder.px(86_400_000));
                require(connection.sync().get("cold"));
            } finally {
                client.shutdown();
            }
        }
    }

    /**
     * The same through Spring Session's {@code RedisSessionRepository} on Lettuce, set up by hand
     * as its documentation shows (no Spring context): a session with one attribute saved and found.
     */
    private static final class SpringRedis {
        static void run(String where) {
            var configuration = new org.springframework.data.redis.connection.RedisStandaloneConfiguration(
                    where.substring(0, where.indexOf(':')), Integer.parseInt(where.substring(where.indexOf(':') + 1)));
            var factory = new org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory(configuration);
            factory.afterPropertiesSet();
            factory.start();
            try {
                var template = new org.springframework.data.redis.core.RedisTemplate<String, Object>();
                template.setConnectionFactory(factory);
                template.setKeySerializer(org.springframework.data.redis.serializer.RedisSerializer.string());
                template.setHashKeySerializer(org.springframework.data.redis.serializer.RedisSerializer.string());
                template.afterPropertiesSet();
                saveAndFind(new org.springframework.session.data.redis.RedisSessionRepository(template));
            } finally {
                factory.destroy();
            }
        }

        /** Through the public interfaces: the repository's session class is not public. */
        private static <S extends org.springframework.session.Session> void saveAndFind(
                org.springframework.session.SessionRepository<S> repository) {
            S session = repository.createSession();
            session.setAttribute("theme", "dark");
            repository.save(session);
            require(repository.findById(session.getId()));
        }
    }

    private static final class RawS3 {
        static void run(byte[] record, String where) {
            try (S3Client client = S3Client.builder().endpointOverride(URI.create(where)).forcePathStyle(true)
                    .region(Region.US_EAST_1).credentialsProvider(StaticCredentialsProvider.create(
                            AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
                    .httpClientBuilder(Apache5HttpClient.builder()).build()) {
                client.putObject(b -> b.bucket("bench").key("cold"), RequestBody.fromBytes(record));
                require(client.getObjectAsBytes(b -> b.bucket("bench").key("cold")).asByteArray());
            }
        }
    }

    private static void require(Object value) {
        if (value == null) {
            throw new IllegalStateException("the record was not read back");
        }
    }
}
