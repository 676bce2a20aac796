package io.sessionbuddy.bench;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4FastDecompressor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The candidate compressions of the stored format on realistic session JSON of 1 KiB, 16 KiB and
 * 1 MiB: JDK gzip, zstd-jni (levels 1 and 3 with a new native context per call, as
 * {@code Zstd.compress} does, and level 3 with a reused context, as the stored format does) and
 * lz4-java. Compressed sizes are printed by
 * {@link CompressionSizes}; {@code session-bench/run-codec-bench.sh} runs both.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class CompressionBenchmark {
    /** Payload size in bytes. */
    @Param({"1024", "16384", "1048576"})
    public int size;

    /** Which compression. */
    @Param({"gzip", "zstd-1", "zstd-3", "zstd-3-ctx", "lz4"})
    public String codec;

    private byte[] json;
    private byte[] packed;

    @Setup
    public void setUp() {
        json = SessionPayloads.json(size, 42);
        packed = compress(codec, json);
    }

    @Benchmark
    public byte[] compress() {
        return compress(codec, json);
    }

    @Benchmark
    public byte[] decompress() {
        return decompress(codec, packed, json.length);
    }

    static byte[] compress(String codec, byte[] json) {
        return switch (codec) {
            case "gzip" -> gzip(json);
            case "zstd-1" -> Zstd.compress(json, 1);
            case "zstd-3" -> Zstd.compress(json, 3);
            case "zstd-3-ctx" -> Contexts.COMPRESS.get().compress(json);
            case "lz4" -> Lz4.COMPRESSOR.compress(json);
            default -> throw new IllegalArgumentException(codec);
        };
    }

    static byte[] decompress(String codec, byte[] packed, int length) {
        return switch (codec) {
            case "gzip" -> gunzip(packed);
            case "zstd-1", "zstd-3" -> Zstd.decompress(packed, length);
            case "zstd-3-ctx" -> {
                byte[] out = new byte[length];
                Contexts.DECOMPRESS.get().decompressByteArray(out, 0, length, packed, 0, packed.length);
                yield out;
            }
            case "lz4" -> Lz4.DECOMPRESSOR.decompress(packed, length);
            default -> throw new IllegalArgumentException(codec);
        };
    }

    private static byte[] gzip(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length / 4 + 64);
        try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
            gzip.write(data);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
    }

    private static byte[] gunzip(byte[] data) {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(data))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final class Contexts {
        static final ThreadLocal<ZstdCompressCtx> COMPRESS =
                ThreadLocal.withInitial(() -> new ZstdCompressCtx().setLevel(3).setContentSize(true));
        static final ThreadLocal<ZstdDecompressCtx> DECOMPRESS = ThreadLocal.withInitial(ZstdDecompressCtx::new);
    }

    private static final class Lz4 {
        static final LZ4Compressor COMPRESSOR = LZ4Factory.fastestInstance().fastCompressor();
        static final LZ4FastDecompressor DECOMPRESSOR = LZ4Factory.fastestInstance().fastDecompressor();
    }
}
