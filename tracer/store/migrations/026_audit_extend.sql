-- Appending to the audit chain, revised (migration 023's audit_append is replaced):
--
-- 1. The chain's end is always found through the seq index. A plan cached while audit_log was empty or
--    tiny (a fresh install, a VACUUM ANALYZE before the first request) was a sequential scan and sort, and
--    a session keeps its plan until the table is analysed again: every batch of the service's long-lived
--    writer read the whole log (measured: 185 buffers and 0.9 ms of database CPU per one-row batch at a
--    few thousand rows, growing with the log). Disabling sequential scans in these two functions leaves
--    the index as the only plan, however small the table looked when they were planned.
-- 2. A batch whose hashes link to a row that is no longer the end (another process appended meanwhile) is
--    not written: audit_extend returns the end it found, and the writer hashes the batch again from there
--    and retries (tracer.store.audit), instead of the trigger hashing every row in the database. Rows sent
--    without hashes (hashes NULL) are still chained by the trigger.

DROP FUNCTION audit_append(bigint, bytea, bigint[], timestamptz[], bigint[], text[], text[], text[], text[],
                           jsonb[], integer[], real[], jsonb[], bytea[]);

ALTER FUNCTION audit_chain() SET enable_seqscan = off;

-- Append rows whose hashes the writer computed after (tail_seq, tail_hash), the chain's end as the writer
-- last saw it, under the same advisory lock as the trigger (held until the transaction ends), so appends
-- from every process stay one chain. Returns the chain's end after the call and whether the rows were
-- written with the writer's hashes: when ``linked`` is false and ``hashes`` is not NULL, nothing was
-- written and (seq, hash) is the end to hash from.
CREATE FUNCTION audit_extend(
    tail_seq bigint, tail_hash bytea, ids bigint[], ats timestamptz[], key_ids bigint[], tenants text[],
    clients text[], methods text[], paths text[], queries jsonb[], statuses integer[], durations real[],
    answers jsonb[], hashes bytea[]
) RETURNS TABLE (seq bigint, hash bytea, linked boolean)
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    last record;
    linked boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(7310043);
    -- a statement of its own, so its snapshot is taken after the lock: it sees every committed append
    SELECT a.seq, a.hash INTO last FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
    linked := hashes IS NOT NULL AND COALESCE(last.seq, 0) = tail_seq
              AND COALESCE(last.hash, '\x'::bytea) = tail_hash;
    IF NOT linked AND hashes IS NOT NULL THEN
        RETURN QUERY SELECT COALESCE(last.seq, 0), COALESCE(last.hash, '\x'::bytea), false;
        RETURN;
    END IF;
    INSERT INTO audit_log (id, seq, prev_hash, hash, at, key_id, tenant, client, method, path, query,
                           status, duration_ms, answer)
    SELECT u.id,
           CASE WHEN linked THEN tail_seq + u.n END,
           CASE WHEN linked THEN COALESCE(hashes[u.n - 1], tail_hash) END,
           CASE WHEN linked THEN u.hash END,
           u.at, u.key_id, u.tenant, u.client, u.method, u.path, u.query, u.status, u.duration_ms, u.answer
    FROM unnest(ids, ats, key_ids, tenants, clients, methods, paths, queries, statuses, durations, answers,
                hashes) WITH ORDINALITY
         AS u (id, at, key_id, tenant, client, method, path, query, status, duration_ms, answer, hash, n)
    ORDER BY u.n;
    IF linked THEN  -- the end is the batch's last row, known without reading it back
        RETURN QUERY SELECT tail_seq + cardinality(ids), COALESCE(hashes[cardinality(hashes)], tail_hash), true;
    ELSE
        RETURN QUERY SELECT a.seq, a.hash, false FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
    END IF;
END
$$;
