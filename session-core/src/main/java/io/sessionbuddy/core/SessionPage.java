package io.sessionbuddy.core;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * One page of a listing ({@link SessionStorage#listSessions(String, String, String, int)}): ids in
 * ascending order, and the cursor of the next page.
 *
 * <p>Ascending means Unicode code point order ({@link #ORDER}), which is the order of the ids'
 * UTF-8 bytes: the order Redis keeps a sorted set's members of equal score in and S3 lists keys
 * in, so a backend can page its own index without sorting it. It differs from {@link String}'s
 * natural order only for ids mixing characters U+E000 to U+FFFF with characters above U+FFFF.
 *
 * @param ids the session ids of this page, ascending ({@link #ORDER})
 * @param nextCursor pass it to the next call for the next page; {@code null} when this page is the last
 */
public record SessionPage(List<String> ids, String nextCursor) {
    private static final String PREFIX = "sb1.";
    /** The largest page a listing returns. */
    public static final int MAX_LIMIT = 10_000;

    /**
     * The order of ids in listings: by Unicode code point, the same as comparing their UTF-8 bytes
     * (unsigned). {@link String#compareTo} compares UTF-16 units instead, which puts a character
     * above U+FFFF (a surrogate pair, units U+D800 to U+DFFF) before one from U+E000 to U+FFFF.
     */
    public static final Comparator<String> ORDER = new CodePointOrder();

    /**
     * Copies the ids.
     *
     * @param ids the page's ids, ascending
     * @param nextCursor the next page's cursor, or {@code null} on the last
     */
    public SessionPage {
        ids = List.copyOf(ids);
    }

    /**
     * Whether more pages follow.
     *
     * @return whether more pages follow
     */
    public boolean hasMore() {
        return nextCursor != null;
    }

    /** {@link #ORDER}: a class rather than a lambda, so that its first use spins no hidden class. */
    private static final class CodePointOrder implements Comparator<String> {
        @Override
        public int compare(String a, String b) {
            int n = Math.min(a.length(), b.length());
            for (int i = 0; i < n; i++) {
                char x = a.charAt(i);
                char y = b.charAt(i);
                if (x != y) {
                    return codePointRank(x) - codePointRank(y);
                }
            }
            return a.length() - b.length();
        }
    }

    /**
     * A UTF-16 unit moved so that units compare as their code points do: surrogates (which only
     * start characters above U+FFFF) after U+E000 to U+FFFF, which move down to make room.
     */
    private static int codePointRank(char c) {
        if (c < 0xD800) {
            return c;
        }
        return c >= 0xE000 ? c - 0x800 : c + 0x2000;
    }

    /** The opaque cursor of the page after the one that ended with {@code lastId}. */
    static String cursorAfter(String lastId) {
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(lastId.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The last id of the previous page named by {@code cursor}, or {@code null} for the first page:
     * for a backend that pages its own index (ids after it, ascending).
     *
     * @param cursor a page's {@link #nextCursor()}, or {@code null}
     * @return the id the next page starts after, or {@code null}
     * @throws IllegalArgumentException when the cursor was not made by a listing
     */
    public static String lastIdOf(String cursor) {
        if (cursor == null) {
            return null;
        }
        if (cursor.startsWith(PREFIX)) {
            try {
                String id = new String(Base64.getUrlDecoder().decode(cursor.substring(PREFIX.length())),
                        StandardCharsets.UTF_8);
                if (SessionIds.isValid(id)) {
                    return id;
                }
            } catch (IllegalArgumentException notBase64) {
                // reported below
            }
        }
        throw new IllegalArgumentException("not a listing cursor: pass null for the first page, then the"
                + " nextCursor of the page before");
    }

    /**
     * A page of {@code ids} (ascending), with a cursor after its last id when {@code more} ids follow.
     *
     * @param ids the page's ids, ascending
     * @param more whether ids after the last one may follow
     * @return the page
     */
    public static SessionPage of(List<String> ids, boolean more) {
        return new SessionPage(ids, more && !ids.isEmpty() ? cursorAfter(ids.get(ids.size() - 1)) : null);
    }

    /**
     * Checks a page size: from 1 to {@link #MAX_LIMIT}.
     *
     * @param limit the most ids on a page
     * @return {@code limit}
     * @throws IllegalArgumentException when it is out of range
     */
    public static int requireLimit(int limit) {
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be from 1 to " + MAX_LIMIT + ", was " + limit);
        }
        return limit;
    }

    /**
     * The ids of {@code ids} after {@code lastId}, ascending ({@link #ORDER}): the candidates of
     * the page that follows it, for a backend that pages its own index.
     *
     * @param ids ids in any order
     * @param lastId the last id of the previous page, or {@code null} for the first
     * @return the ids after it, sorted
     */
    public static List<String> idsAfter(Collection<String> ids, String lastId) {
        List<String> after = new ArrayList<>(ids.size());
        for (String id : ids) {
            if (lastId == null || ORDER.compare(id, lastId) > 0) {
                after.add(id);
            }
        }
        after.sort(ORDER);
        return after;
    }

    /**
     * The page after {@code lastId} cut from a full listing: at most {@code limit} of its ids,
     * ascending, with a cursor when more follow.
     *
     * @param ids every matching id, in any order
     * @param lastId the last id of the previous page, or {@code null} for the first
     * @param limit the most ids on the page
     * @return the page
     */
    public static SessionPage firstOf(Collection<String> ids, String lastId, int limit) {
        List<String> after = idsAfter(ids, lastId);
        return of(after.subList(0, Math.min(limit, after.size())), after.size() > limit);
    }
}
