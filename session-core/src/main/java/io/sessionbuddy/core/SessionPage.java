package io.sessionbuddy.core;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * One page of a listing ({@link SessionStorage#listSessions(String, String, String, int)}): ids in
 * ascending order, and the cursor of the next page.
 *
 * @param ids the session ids of this page, ascending (Java {@link String} order)
 * @param nextCursor pass it to the next call for the next page; {@code null} when this page is the last
 */
public record SessionPage(List<String> ids, String nextCursor) {
    private static final String PREFIX = "sb1.";

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
     * The page of {@code sortedIds} after {@code lastId}, at most {@code limit} long.
     *
     * @param sortedIds every matching id, ascending
     */
    static SessionPage of(List<String> sortedIds, String lastId, int limit) {
        Objects.requireNonNull(sortedIds, "sortedIds");
        int from = 0;
        if (lastId != null) {
            int at = java.util.Collections.binarySearch(sortedIds, lastId);
            from = at >= 0 ? at + 1 : -at - 1;
        }
        int to = Math.min(sortedIds.size(), from + limit);
        List<String> page = sortedIds.subList(from, to);
        return new SessionPage(page, to < sortedIds.size() ? cursorAfter(page.get(page.size() - 1)) : null);
    }
}
