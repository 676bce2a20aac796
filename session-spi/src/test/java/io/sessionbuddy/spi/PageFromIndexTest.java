package io.sessionbuddy.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.SessionPage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link AbstractSessionStorage#pageFromIndex}: pages that read from the cursor on, not the whole index. */
class PageFromIndexTest {
    private static List<String> index(int size) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            ids.add(String.format("id-%05d", i));
        }
        return ids;
    }

    @Test
    void aWalkListsEveryLiveIdOnceInOrderAndEachPageReadsOnlyWhatItNeeds() {
        List<String> ids = index(1_000);
        List<Integer> read = new ArrayList<>();
        AbstractSessionStorage.PageCandidates<RuntimeException> sorted = AbstractSessionStorage.PageCandidates
                .fromSorted(ids);
        AbstractSessionStorage.PageCandidates<RuntimeException> counted = (lastId, max) -> {
            List<String> batch = sorted.after(lastId, max);
            read.add(batch.size());
            return batch;
        };
        // every third id is dead (expired, or another owner's)
        AbstractSessionStorage.PageCheck<RuntimeException> live = batch -> batch.stream()
                .filter(id -> Integer.parseInt(id.substring(3)) % 3 != 0).toList();

        List<String> walked = new ArrayList<>();
        String lastId = null;
        int pages = 0;
        SessionPage page;
        do {
            read.clear();
            page = AbstractSessionStorage.pageFromIndex(lastId, 10, counted, live);
            assertThat(page.ids()).hasSizeLessThanOrEqualTo(10);
            // a page of 10 live ids reads about 15 entries (a third are dead), never the index
            assertThat(read.stream().mapToInt(Integer::intValue).sum()).isLessThanOrEqualTo(30);
            walked.addAll(page.ids());
            lastId = page.hasMore() ? SessionPage.lastIdOf(page.nextCursor()) : null;
            pages++;
        } while (page.hasMore());

        assertThat(walked).containsExactlyElementsOf(ids.stream()
                .filter(id -> Integer.parseInt(id.substring(3)) % 3 != 0).toList());
        assertThat(pages).isEqualTo(67); // 666 live ids, 10 a page
    }

    @Test
    void anIndexOfDeadEntriesGivesAnEmptyLastPageAndAnEmptyIndexOneToo() {
        AbstractSessionStorage.PageCheck<RuntimeException> none = batch -> List.of();
        SessionPage dead = AbstractSessionStorage.pageFromIndex(null, 5,
                AbstractSessionStorage.PageCandidates.<RuntimeException>fromSorted(index(40)), none);
        assertThat(dead.ids()).isEmpty();
        assertThat(dead.hasMore()).isFalse();
        SessionPage empty = AbstractSessionStorage.pageFromIndex(null, 5,
                AbstractSessionStorage.PageCandidates.<RuntimeException>fromSorted(List.of()), batch -> batch);
        assertThat(empty.ids()).isEmpty();
        assertThat(empty.hasMore()).isFalse();
    }

    @Test
    void fromSortedResumesAfterAnIdThatIsNotInTheList() {
        AbstractSessionStorage.PageCandidates<RuntimeException> sorted = AbstractSessionStorage.PageCandidates
                .fromSorted(List.of("a", "c", "e", "\uff5e", "\ud83d\ude00"));
        assertThat(sorted.after("b", 2)).containsExactly("c", "e");
        assertThat(sorted.after("e", 5)).containsExactly("\uff5e", "\ud83d\ude00");
        assertThat(sorted.after("\ud83d\ude00", 5)).isEmpty();
    }
}
