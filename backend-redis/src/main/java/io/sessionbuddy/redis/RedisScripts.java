package io.sessionbuddy.redis;

/**
 * The Lua scripts of the Redis backend. A session's data key is a hash: {@code d} = the encoded
 * record, {@code v} = version, {@code u} = user id, {@code p} = project id, {@code w} = the id of
 * the write that stored it (so that a write sent twice is applied once), {@code e} = the expiry a
 * touch gave it (empty after a write: the record's own expiry counts); indexes are sorted sets
 * scored by each session's expiry (epoch ms), so expired entries can be dropped by score. Each
 * index has an <em>order set</em> beside it, in the same slot: the same ids, all scored 0, so that
 * Redis keeps them in the order of their bytes and a page is read from it with {@code ZRANGEBYLEX}
 * after the cursor ({@link #PAGE}); every script that adds or removes an index entry does the same
 * to its order set. Only a new entry touches the order set (an update of an entry's score, the
 * common write, does not), and its time to live is set then: an order set that expires before its
 * index (no new entry for a day) is rebuilt by the next page. Index and order-set lives are
 * renewed only when less than an hour short of the time asked (a call less on most writes), so
 * an index outlives its longest-lived entry by 23 to 24 hours. Standalone scripts name another
 * owner's order set as the order-set prefix and the owner, like its index.
 */
enum RedisScripts {
    /**
     * Standalone store and compare-and-set, data and both indexes in one atomic step.
     * KEYS: data, user index, project index, and the event stream when events are on. ARGV: record,
     * version, user, project, ttl ms, expires-at ms, user index prefix, project index prefix, id,
     * expected version ('' = none), index ttl ms, write id, stream max length, user order-set prefix,
     * project order-set prefix. With the stream, a {@code created} or {@code updated} event is appended in the same atomic
     * step as the write (none when the compare-and-set fails or the write is a replay).
     * Returns 1 when written (or when this very write, by its id, already ran: a client's replay
     * after a reconnect), 0 when the expected version did not match.
     */
    WRITE_WITH_INDEXES("5ea2a9f52ea313af3172ff84bb338caf52a51020", """
            local old = redis.call('HMGET', KEYS[1], 'v', 'u', 'p', 'w')
            if old[4] and old[4] == ARGV[12] then return 1 end
            if old[1] and not string.match(old[1], '^%d+$') then
              return redis.error_reply('SBCORRUPT version field is not a number')
            end
            if ARGV[10] ~= '' and (not old[1] or old[1] ~= ARGV[10]) then return 0 end
            redis.call('HSET', KEYS[1], 'd', ARGV[1], 'v', ARGV[2], 'u', ARGV[3], 'p', ARGV[4], 'w', ARGV[12], 'e', '')
            redis.call('PEXPIRE', KEYS[1], ARGV[5])
            for i = 2, 3 do
              if redis.call('ZADD', KEYS[i], ARGV[6], ARGV[9]) == 1 then
                local order = ARGV[12 + i] .. ARGV[i + 1]
                redis.call('ZADD', order, 0, ARGV[9])
                if redis.call('PTTL', order) < tonumber(ARGV[11]) - 3600000 then redis.call('PEXPIRE', order, ARGV[11]) end
              end
              if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[11]) - 3600000 then redis.call('PEXPIRE', KEYS[i], ARGV[11]) end
            end
            if old[2] and old[2] ~= ARGV[3] then
              redis.call('ZREM', ARGV[7] .. old[2], ARGV[9])
              redis.call('ZREM', ARGV[14] .. old[2], ARGV[9])
            end
            if old[3] and old[3] ~= ARGV[4] then
              redis.call('ZREM', ARGV[8] .. old[3], ARGV[9])
              redis.call('ZREM', ARGV[15] .. old[3], ARGV[9])
            end
            if KEYS[4] then
              local kind = 'created'
              if old[1] then kind = 'updated' end
              redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[13], '*', 'type', kind, 'session', ARGV[9],
                'user', ARGV[3], 'project', ARGV[4], 'version', ARGV[2])
            end
            return 1
            """),
    /**
     * Standalone delete with its index entries. KEYS: data, and the event stream when events are on.
     * ARGV: user index prefix, project index prefix, id, stream max length, user order-set prefix,
     * project order-set prefix.
     * Returns the number of keys deleted; a {@code deleted} event is appended when one was.
     */
    DELETE_WITH_INDEXES("2ca437e5c0736c1003d7ac50be6bf8772efb3979", """
            local old = redis.call('HMGET', KEYS[1], 'u', 'p')
            local n = redis.call('DEL', KEYS[1])
            for i = 1, 2 do
              if old[i] then
                redis.call('ZREM', ARGV[i] .. old[i], ARGV[3])
                redis.call('ZREM', ARGV[4 + i] .. old[i], ARGV[3])
              end
            end
            if n > 0 and KEYS[2] then
              redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'type', 'deleted', 'session', ARGV[3],
                'user', old[1] or '', 'project', old[2] or '', 'version', '-1')
            end
            return n
            """),
    /**
     * Cluster store and compare-and-set of the data key alone (index keys live in other slots).
     * KEYS: data, and its slot's event stream when events are on. ARGV: record, version, user,
     * project, ttl ms, expected version ('' = none), write id, id, stream max length, the rotation
     * markers' owner.
     * Returns {1, old user, old project} when written ('' when there was none, or when this very
     * write already ran), {0} otherwise. With the stream, the write's event is appended in the same
     * atomic step: {@code created} or {@code updated}, or {@code deleted} (with the old owners) when
     * the write is a rotation's marker taking the old record's place; none for a replay or a failed
     * compare-and-set.
     */
    WRITE_DATA("efebc1d1d3b4be71212fe261969ea27d5ef46f92", """
            local old = redis.call('HMGET', KEYS[1], 'v', 'u', 'p', 'w')
            if old[4] and old[4] == ARGV[7] then return {1, '', ''} end
            if old[1] and not string.match(old[1], '^%d+$') then
              return redis.error_reply('SBCORRUPT version field is not a number')
            end
            if ARGV[6] ~= '' and (not old[1] or old[1] ~= ARGV[6]) then return {0} end
            redis.call('HSET', KEYS[1], 'd', ARGV[1], 'v', ARGV[2], 'u', ARGV[3], 'p', ARGV[4], 'w', ARGV[7], 'e', '')
            redis.call('PEXPIRE', KEYS[1], ARGV[5])
            if KEYS[2] then
              if ARGV[3] == ARGV[10] then
                if old[1] then
                  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '*', 'type', 'deleted', 'session', ARGV[8],
                    'user', old[2] or '', 'project', old[3] or '', 'version', '-1')
                end
              else
                local kind = 'created'
                if old[1] then kind = 'updated' end
                redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '*', 'type', kind, 'session', ARGV[8],
                  'user', ARGV[3], 'project', ARGV[4], 'version', ARGV[2])
              end
            end
            return {1, old[2] or '', old[3] or ''}
            """),
    /**
     * Cluster delete of the data key. KEYS: data, and its slot's event stream when events are on.
     * ARGV: id, stream max length. Returns {deleted, old user, old project}; with the stream, a
     * {@code deleted} event is appended in the same step when the key was deleted.
     */
    DELETE_DATA("ed388c691d1a12a86b8ed130e061d7d80fcec1ca", """
            local old = redis.call('HMGET', KEYS[1], 'u', 'p')
            local n = redis.call('DEL', KEYS[1])
            if n > 0 and KEYS[2] then
              redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'type', 'deleted', 'session', ARGV[1],
                'user', old[1] or '', 'project', old[2] or '', 'version', '-1')
            end
            return {n, old[1] or '', old[2] or ''}
            """),
    /**
     * Adds an index entry and keeps the index key alive at least as long as it (plus a grace
     * period, so that cleanup can still count the entry after it expires). {@code GT}: an entry's
     * score is only ever raised, so a writer that then loses its compare-and-set (or lands late)
     * never leaves a score below the data's real expiry.
     * KEYS: index, its order set. ARGV: expires-at ms, id, index ttl ms.
     */
    INDEX_ADD("41c9b31ee05d9517bd2e086feabbf49c732e1ac0", """
            if redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2]) == 1 then
              redis.call('ZADD', KEYS[2], 0, ARGV[2])
              if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[3]) - 3600000 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
            end
            if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) - 3600000 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
            return 1
            """),
    /**
     * Cluster removal of index entries, from the index and its order set together.
     * KEYS: index, its order set. ARGV: the ids. Returns how many the index held.
     */
    INDEX_REMOVE("ec0ab92e2f5da2b4bca11bd424c47a3c0561985b", """
            redis.call('ZREM', KEYS[2], unpack(ARGV))
            return redis.call('ZREM', KEYS[1], unpack(ARGV))
            """),
    /**
     * One batch of a page's candidates: the ids after the cursor in byte order, from the order set,
     * that the index holds with an expiry after now. When the order set does not hold as many ids as
     * the index (written by a version without order sets, or lost), it is first rebuilt from the
     * index, in this same atomic step. Reads at most {@code budget} ids, whatever the index's size.
     * Standalone (a data-key prefix given), each candidate's data is checked in the same step:
     * absent, or of another owner, its entries are removed (lazy repair, atomic with the check);
     * a key of another type or a hash without its owners is damaged (left alone).
     * KEYS: index, its order set. ARGV: the id to start after ('' = the first), how many live
     * candidates are wanted, the most ids to read, now (epoch ms), the data-key prefix ('' = no
     * check: cluster, where data keys live in other slots), the index's field ('u' or 'p'), the
     * index's owner, the project a user's index is also filtered by ('' = none). Returns {the last
     * id read ('' = none), 1 when no id follows it (0 = maybe), then each candidate prefixed with
     * 'c' (to check: cluster), 'l' (live), 'd' (damaged), 'a' (data absent: entry removed) or 'm'
     * (moved to another owner: entry removed)}; a checked id of the index's owner but not of the
     * project filter is left out.
     */
    PAGE("30ea786dd220ba4e07175935f0eb7945a3274f9d", """
            local n = redis.call('ZCARD', KEYS[1])
            if redis.call('ZCARD', KEYS[2]) ~= n then
              redis.call('DEL', KEYS[2])
              for start = 0, n - 1, 1000 do
                local ids = redis.call('ZRANGE', KEYS[1], start, start + 999)
                local args = {}
                for j = 1, #ids do
                  args[#args + 1] = 0
                  args[#args + 1] = ids[j]
                end
                if #args > 0 then redis.call('ZADD', KEYS[2], unpack(args)) end
              end
              local ttl = redis.call('PTTL', KEYS[1])
              if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
            end
            local from = '-'
            if ARGV[1] ~= '' then from = '(' .. ARGV[1] end
            local want = tonumber(ARGV[2])
            local budget = tonumber(ARGV[3])
            local now = tonumber(ARGV[4])
            local escapes = {['%'] = '%25', ['{'] = '%7B', ['}'] = '%7D'}
            local out = {'', 0}
            local read = 0
            local found = 0
            while true do
              local chunk = redis.call('ZRANGEBYLEX', KEYS[2], from, '+', 'LIMIT', 0, math.min(want, budget - read))
              if #chunk == 0 then
                out[2] = 1
                return out
              end
              for i = 1, #chunk do
                local id = chunk[i]
                read = read + 1
                out[1] = id
                local score = redis.call('ZSCORE', KEYS[1], id)
                if score and tonumber(score) > now then
                  if ARGV[5] == '' then
                    out[#out + 1] = 'c' .. id
                    found = found + 1
                  else
                    local key = ARGV[5] .. (string.gsub(id, '[%%{}]', escapes)) .. '}'
                    local t = redis.call('TYPE', key)['ok']
                    if t == 'none' then
                      redis.call('ZREM', KEYS[1], id)
                      redis.call('ZREM', KEYS[2], id)
                      out[#out + 1] = 'a' .. id
                    elseif t ~= 'hash' then
                      out[#out + 1] = 'd' .. id
                    else
                      local f = redis.call('HMGET', key, 'u', 'p')
                      if not f[1] or not f[2] then
                        out[#out + 1] = 'd' .. id
                      else
                        local owner = f[1]
                        if ARGV[6] == 'p' then owner = f[2] end
                        if owner ~= ARGV[7] then
                          redis.call('ZREM', KEYS[1], id)
                          redis.call('ZREM', KEYS[2], id)
                          out[#out + 1] = 'm' .. id
                        elseif ARGV[8] == '' or f[2] == ARGV[8] then
                          out[#out + 1] = 'l' .. id
                          found = found + 1
                        end
                      end
                    end
                  end
                end
                if found >= want or read >= budget then return out end
              end
              from = '(' .. chunk[#chunk]
            end
            """),
    /**
     * Reads a session's record only when it is no larger than a bound, so a huge value is never
     * sent. KEYS: data. ARGV: the most bytes a record may have. Returns {record, version, touched}
     * ({nil, nil, nil} when absent; touched = '&lt;version&gt;:&lt;expires-at ms&gt;' after a
     * touch, see {@link #TOUCH}). A key of another type fails {@code HSTRLEN} with WRONGTYPE (read as a
     * damaged record): no {@code TYPE} call, the script runs on every read.
     */
    READ_BOUNDED("7fb67042ffada1f15bf368c5d90848e85e16c9bd", """
            local n = redis.call('HSTRLEN', KEYS[1], 'd')
            if n > tonumber(ARGV[1]) then return redis.error_reply('SBTOOLARGE ' .. n) end
            return redis.call('HMGET', KEYS[1], 'd', 'v', 'e')
            """),
    /**
     * Standalone touch: a live session's key expiry, its touched expiry field and both index
     * scores move, in one atomic step, without reading the record. The field {@code e} holds
     * '&lt;version&gt;:&lt;expires-at ms&gt;': readers apply it only to the record of that version,
     * so a later write (a new version, its own expiry in the record) needs no change.
     * KEYS: data. ARGV: ttl ms, expires-at ms, user index prefix, project index prefix, id, index
     * ttl ms, the reserved owner of rotation markers (not touched), user order-set prefix, project
     * order-set prefix. Returns 1 when touched, 0 when absent.
     */
    TOUCH("cf430916c436aa2e5baa90cea1609d9fa1e43315", """
            local f = redis.call('HMGET', KEYS[1], 'v', 'u', 'p')
            if not f[1] or f[2] == ARGV[7] then return 0 end
            if not string.match(f[1], '^%d+$') then return redis.error_reply('SBCORRUPT version field is not a number') end
            """ + Lua.MOVE_EXPIRY + """
            return 1
            """),
    /**
     * Standalone touch and bounded read in one step (sliding expiration: the read of every request
     * with {@code refresh_ttl_on_read}): {@link #TOUCH}'s moves, then {@link #READ_BOUNDED}'s read.
     * KEYS: data. ARGV: as {@link #TOUCH}, then the most bytes a record may have. Returns
     * {record, version, touched} as {@link #READ_BOUNDED} (touched holding this touch), or an empty
     * list when nothing was touched (absent, or a rotation's marker). A record over the bound fails
     * the script before anything is moved.
     */
    READ_TOUCHED("228a79f3e4da2b4dc6421d2cbc2d0725144f408b", """
            local f = redis.call('HMGET', KEYS[1], 'v', 'u', 'p')
            if not f[1] or f[2] == ARGV[7] then return {} end
            if not string.match(f[1], '^%d+$') then return redis.error_reply('SBCORRUPT version field is not a number') end
            local n = redis.call('HSTRLEN', KEYS[1], 'd')
            if n > tonumber(ARGV[10]) then return redis.error_reply('SBTOOLARGE ' .. n) end
            """ + Lua.MOVE_EXPIRY + """
            return redis.call('HMGET', KEYS[1], 'd', 'v', 'e')
            """),
    /**
     * Standalone move of a session to a new id (a rotation), in one atomic step: when the old
     * record has the expected version, the copy is written under the new key with its index
     * entries, and the old key becomes the marker (not indexed) with its entries removed.
     * KEYS: new data, old data, new user index, new project index, and the event stream when
     * events are on. ARGV: copy record, copy version, user, project, ttl ms, copy expires-at ms,
     * user index prefix, project index prefix, new id, old id, expected version, index ttl ms,
     * marker record, marker version, marker owner, marker ttl ms, write id, stream max length, user
     * order-set prefix, project order-set prefix.
     * Returns 1 when moved (or when this very move already ran), 0 otherwise.
     */
    MOVE("8cab3741e4100fdf410dd2a272cd7de875b21130", """
            local old = redis.call('HMGET', KEYS[2], 'v', 'u', 'p', 'w')
            if old[4] and old[4] == ARGV[17] then return 1 end
            if not old[1] or old[1] ~= ARGV[11] then return 0 end
            redis.call('DEL', KEYS[1])
            redis.call('HSET', KEYS[1], 'd', ARGV[1], 'v', ARGV[2], 'u', ARGV[3], 'p', ARGV[4], 'w', ARGV[17])
            redis.call('PEXPIRE', KEYS[1], ARGV[5])
            for i = 3, 4 do
              if redis.call('ZADD', KEYS[i], ARGV[6], ARGV[9]) == 1 then
                local order = ARGV[16 + i] .. ARGV[i]
                redis.call('ZADD', order, 0, ARGV[9])
                if redis.call('PTTL', order) < tonumber(ARGV[12]) - 3600000 then redis.call('PEXPIRE', order, ARGV[12]) end
              end
              if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[12]) - 3600000 then redis.call('PEXPIRE', KEYS[i], ARGV[12]) end
            end
            redis.call('DEL', KEYS[2])
            redis.call('HSET', KEYS[2], 'd', ARGV[13], 'v', ARGV[14], 'u', ARGV[15], 'p', ARGV[15], 'w', ARGV[17])
            redis.call('PEXPIRE', KEYS[2], ARGV[16])
            for i = 2, 3 do
              if old[i] then
                redis.call('ZREM', ARGV[5 + i] .. old[i], ARGV[10])
                redis.call('ZREM', ARGV[17 + i] .. old[i], ARGV[10])
              end
            end
            if KEYS[5] then
              redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[18], '*', 'type', 'created', 'session', ARGV[9],
                'user', ARGV[3], 'project', ARGV[4], 'version', ARGV[2])
              redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[18], '*', 'type', 'deleted', 'session', ARGV[10],
                'user', old[2] or '', 'project', old[3] or '', 'version', '-1')
            end
            return 1
            """),
    /**
     * Cluster touch of the data key alone (the index entries are moved after it, in their slots).
     * KEYS: data. ARGV: ttl ms, expires-at ms, the reserved owner of rotation markers. Returns
     * {1, user, project} when touched, {0} when absent.
     */
    TOUCH_DATA("61bd518a31331c077e3864e56cf1a09022beee07", """
            local f = redis.call('HMGET', KEYS[1], 'v', 'u', 'p')
            if not f[1] or f[2] == ARGV[3] then return {0} end
            if not string.match(f[1], '^%d+$') then return redis.error_reply('SBCORRUPT version field is not a number') end
            redis.call('PEXPIRE', KEYS[1], ARGV[1])
            redis.call('HSET', KEYS[1], 'e', f[1] .. ':' .. ARGV[2])
            return {1, f[2] or '', f[3] or ''}
            """),
    /**
     * Standalone lazy repair, atomic: removes the index entries whose data is still gone or still
     * belongs elsewhere when the script runs, so an entry made valid again by a concurrent write is
     * never removed. KEYS: index, its order set, then the data key of each candidate. ARGV: hash
     * field ('u' or 'p'), the index's owner, then the id of each candidate. Returns the removed ids,
     * each prefixed with 'a' when its data was absent (expired) or 'm' when it had moved to another owner.
     */
    REPAIR_INDEX("6c2e5b9857bb75fdd5b6d2777feffa006041df52", """
            local out = {}
            for i = 3, #KEYS do
              local t = redis.call('TYPE', KEYS[i])['ok']
              local owner = false
              if t == 'hash' then owner = redis.call('HGET', KEYS[i], ARGV[1]) end
              if t == 'none' or (owner and owner ~= ARGV[2]) then
                redis.call('ZREM', KEYS[2], ARGV[i])
                if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
                  if t == 'none' then out[#out + 1] = 'a' .. ARGV[i] else out[#out + 1] = 'm' .. ARGV[i] end
                end
              end
            end
            return out
            """),
    /**
     * Takes the expired entries of one index, atomically: the members scored at or before now are
     * removed and returned, so that of several instances cleaning up at once each expired session is
     * reported by exactly one. KEYS: index, its order set, and the event stream when events are on
     * (user indexes; in a cluster the stream of the index's slot). ARGV: now (epoch ms), the index's user, stream max length (with the stream).
     * Returns the removed ids; with the stream, an {@code expired} event for each is appended in the
     * same step.
     */
    TAKE_EXPIRED("c868010518db921daa73eb49f5621db70a059986", """
            local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
            for i = 1, #ids, 1000 do
              redis.call('ZREM', KEYS[1], unpack(ids, i, math.min(i + 999, #ids)))
              redis.call('ZREM', KEYS[2], unpack(ids, i, math.min(i + 999, #ids)))
            end
            if KEYS[3] then
              for i = 1, #ids do
                redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'type', 'expired', 'session', ids[i],
                  'user', ARGV[2], 'project', '', 'version', '-1')
              end
            end
            return ids
            """);

    /** Lua shared by several scripts (compile-time constants, so enum constants can use them). */
    private static final class Lua {
        /**
         * A touch's moves once its checks passed ({@code f} = the hash's version, user and project):
         * the key's expiry, the touched-expiry field and both index scores. ARGV as {@link RedisScripts#TOUCH}.
         */
        static final String MOVE_EXPIRY = """
            redis.call('PEXPIRE', KEYS[1], ARGV[1])
            redis.call('HSET', KEYS[1], 'e', f[1] .. ':' .. ARGV[2])
            for i = 2, 3 do
              if f[i] then
                local index = ARGV[i + 1] .. f[i]
                if redis.call('ZADD', index, ARGV[2], ARGV[5]) == 1 then
                  local order = ARGV[i + 6] .. f[i]
                  redis.call('ZADD', order, 0, ARGV[5])
                  if redis.call('PTTL', order) < tonumber(ARGV[6]) - 3600000 then redis.call('PEXPIRE', order, ARGV[6]) end
                end
                if redis.call('PTTL', index) < tonumber(ARGV[6]) - 3600000 then redis.call('PEXPIRE', index, ARGV[6]) end
              end
            end
            """;

        private Lua() {
        }
    }

    private final String body;
    private final String sha1;

    /**
     * @param sha1 the lowercase hex SHA-1 of the body's UTF-8 bytes, the name {@code EVALSHA} calls
     *     it by: written out rather than computed, because the first {@code MessageDigest} of a
     *     process sets up the JDK's security providers (about 10 ms and 60 classes of a cold start,
     *     which a plain Lettuce program does not pay). {@code RedisScriptsTest} checks each against
     *     the body and names the right value when a script changes.
     * @param body the Lua script
     */
    RedisScripts(String sha1, String body) {
        this.sha1 = sha1;
        this.body = body;
    }

    String body() {
        return body;
    }

    String sha1() {
        return sha1;
    }
}
