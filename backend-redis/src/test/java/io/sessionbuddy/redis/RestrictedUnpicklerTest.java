package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The restricted pickle reader on pickles made by Python's own {@code pickle} (protocols 2 to 5,
 * {@code src/test/resources/legacy-acb/make_fixtures.py}), compared with the JSON Python's
 * {@code json.dumps} wrote for the same values.
 */
class RestrictedUnpicklerTest {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);

    static byte[] fixture(String name) {
        return LegacyAcbFixtures.fixture(name);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4, 5})
    void readsEveryProtocolAsPythonsJsonDumpsWroteIt(int protocol) throws Exception {
        byte[] pickle = fixture("session-protocol" + protocol + ".pickle");
        JsonNode expected = JSON.readTree(fixture("expected.json")).get("acb-00" + protocol);
        JsonNode actual = JSON.readTree(RestrictedUnpickler.toJson(pickle, 1 << 20));
        assertThat(actual).isEqualTo(expected);
        // what equality of trees does not show: exact big integers, -0.0, key order
        assertThat(actual.at("/app_monitoring_state/huge").bigIntegerValue()).isEqualTo(BigInteger.TWO.pow(100));
        assertThat(actual.at("/app_monitoring_state/negative_huge").bigIntegerValue())
                .isEqualTo(BigInteger.TWO.pow(70).negate());
        assertThat(Double.doubleToRawLongBits(actual.at("/app_monitoring_state/negative_zero").doubleValue()))
                .isEqualTo(Double.doubleToRawLongBits(-0.0));
        assertThat(actual.at("/reflection_data/nested/list").toString())
                .isEqualTo("[1,-1,255,256,65535,65536,-2147483648,2147483647,2147483648,-2147483649]");
        assertThat(actual.fieldNames()).toIterable().first().isEqualTo("session_id");
        assertThat(actual.at("/conversation_history/0/content").asText())
                .isEqualTo("Grüße aus Köln — 日本語 ✓ \"quoted\" \\ back\nslash 🎉");
    }

    @Test
    void memoReferencesAreTheSameValue() throws Exception {
        Map<?, ?> session = (Map<?, ?>) RestrictedUnpickler.load(fixture("session-protocol4.pickle"));
        List<?> history = (List<?>) session.get("conversation_history");
        assertThat(history.get(1)).isEqualTo(history.get(2));
        Map<?, ?> index = (Map<?, ?>) RestrictedUnpickler.load(fixture("index-protocol4.pickle"));
        assertThat(List.<Object>copyOf(index.keySet())).containsExactly("acb-002", "acb-003", "acb-004", "acb-005");
        assertThat(((Map<?, ?>) index.get("acb-003")).get("user_id")).isEqualTo("user-0");
    }

    @Test
    void refusesClassesAndFunctionsWithoutRunningThem() throws Exception {
        Path marker = Path.of("/tmp/session-buddy-pickle-ran");
        Files.deleteIfExists(marker);
        assertThatThrownBy(() -> RestrictedUnpickler.load(fixture("refused-reduce.pickle")))
                .isInstanceOf(RestrictedUnpickler.Refused.class)
                .hasMessageContaining("STACK_GLOBAL").hasMessageContaining("offset")
                .hasMessageContaining("never looked up or instantiated");
        assertThat(marker).doesNotExist();
        assertThatThrownBy(() -> RestrictedUnpickler.load(fixture("refused-datetime.pickle")))
                .isInstanceOf(RestrictedUnpickler.Refused.class).hasMessageContaining("GLOBAL");
    }

    @Test
    void refusesValuesJsonCannotHold() {
        assertThatThrownBy(() -> RestrictedUnpickler.load(fixture("refused-tuple.pickle")))
                .isInstanceOf(RestrictedUnpickler.Refused.class).hasMessageContaining("a tuple");
        assertThatThrownBy(() -> RestrictedUnpickler.load(fixture("refused-bytes.pickle")))
                .isInstanceOf(RestrictedUnpickler.Refused.class).hasMessageContaining("bytes");
        assertThatThrownBy(() -> RestrictedUnpickler.load(fixture("refused-set.pickle")))
                .isInstanceOf(RestrictedUnpickler.Refused.class).hasMessageContaining("a set");
    }

    @Test
    void boundsCyclesAndMemoExpansion() {
        assertThatThrownBy(() -> RestrictedUnpickler.toJson(fixture("refused-cycle.pickle"), 1 << 20))
                .isInstanceOf(RestrictedUnpickler.Refused.class).hasMessageContaining("contains itself");
        byte[] bomb = fixture("refused-expansion.pickle");
        assertThat(bomb.length).isLessThan(2_000);
        assertThatThrownBy(() -> RestrictedUnpickler.toJson(bomb, 4 << 20))
                .isInstanceOf(RestrictedUnpickler.Refused.class).hasMessageContaining("over 4194304 bytes");
    }

    @Test
    void refusesTruncatedAndMalformedPicklesWithOffsets() {
        byte[] pickle = fixture("session-protocol4.pickle");
        for (int cut : new int[] {0, 1, 2, 3, 12, pickle.length / 2, pickle.length - 1}) {
            byte[] part = java.util.Arrays.copyOf(pickle, cut);
            assertThatThrownBy(() -> RestrictedUnpickler.load(part)).as("cut at %d", cut)
                    .isInstanceOf(RestrictedUnpickler.Refused.class);
        }
        byte[] trailing = java.util.Arrays.copyOf(pickle, pickle.length + 1);
        assertThatThrownBy(() -> RestrictedUnpickler.load(trailing)).hasMessageContaining("after the pickle's end");
        // a string length beyond the record: refused before anything is allocated
        byte[] huge = {(byte) 0x80, 4, 'X', (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, '.'};
        assertThatThrownBy(() -> RestrictedUnpickler.load(huge)).hasMessageContaining("beyond the record");
        byte[] memoGap = {(byte) 0x80, 4, 'N', 'r', 5, 0, 0, 0, '.'};
        assertThatThrownBy(() -> RestrictedUnpickler.load(memoGap)).hasMessageContaining("skips entries");
        byte[] badUtf8 = {(byte) 0x80, 4, (byte) 0x8c, 1, (byte) 0xc3, '.'};
        assertThatThrownBy(() -> RestrictedUnpickler.load(badUtf8)).hasMessageContaining("not valid UTF-8");
        // LONG4 of a million bytes: refused before any decimal conversion (which is quadratic)
        byte[] hugeInt = new byte[1_000_008];
        hugeInt[0] = (byte) 0x80;
        hugeInt[1] = 4;
        hugeInt[2] = (byte) 0x8b;
        hugeInt[3] = 0x40;
        hugeInt[4] = 0x42;
        hugeInt[5] = 0x0f;
        hugeInt[hugeInt.length - 1] = '.';
        assertThatThrownBy(() -> RestrictedUnpickler.toJson(hugeInt, 1 << 24)).hasMessageContaining("1,000 digits");
        byte[] protocol0 = "(dp0\n.".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> RestrictedUnpickler.load(protocol0)).hasMessageContaining("not a pickle of protocol 2");
    }

    @Test
    void recognisesTheLaterAcbFormats() {
        assertThat(LegacyAcbSessionStorage.laterAcbFormat(fixture("session-protocol4.pickle"))).isEmpty();
        assertThat(LegacyAcbSessionStorage.laterAcbFormat(fixture("later-signed-pickle.bin")))
                .hasValueSatisfying(name -> assertThat(name).contains("signed pickle"));
        assertThat(LegacyAcbSessionStorage.laterAcbFormat(fixture("later-msgpack.bin")))
                .hasValueSatisfying(name -> assertThat(name).contains("msgpack"));
        // brotli has no signature: bytes that are none of the known formats are named as most likely brotli
        byte[] brotliLike = {0x1b, 0x22, 0x00, (byte) 0xf8, 0x25, 0x10, 0x42};
        assertThat(LegacyAcbSessionStorage.laterAcbFormat(brotliLike))
                .hasValueSatisfying(name -> assertThat(name).contains("brotli").contains("0x1b2200f8"));
    }
}
