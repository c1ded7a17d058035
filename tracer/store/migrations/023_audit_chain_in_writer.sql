-- The service's audit writer chains its rows itself (tracer.store.audit_digest renders audit_digest's text in
-- Python) and appends a whole batch in one statement, audit_append, instead of a trigger per row that read
-- the chain's last row and rendered its digest in the database. `tracer audit verify` still recomputes
-- every hash with audit_digest, so the chain is checked against the one definition in the database.

-- Rows that arrive without a hash (another tool, a manual INSERT) are still chained by the trigger.
DROP TRIGGER audit_chain ON audit_log;
CREATE TRIGGER audit_chain BEFORE INSERT ON audit_log FOR EACH ROW WHEN (NEW.hash IS NULL)
    EXECUTE FUNCTION audit_chain();

-- Append rows whose hashes the writer computed after (tail_seq, tail_hash), the chain's last row as the
-- writer last saw it. Under the same advisory lock as the trigger, so appends from every process stay one
-- chain. If another process appended meanwhile, the writer's hashes link to the wrong row: the rows are
-- inserted without them and the trigger chains them instead. Returns the chain's new last row, and whether
-- the writer's hashes were used.
CREATE FUNCTION audit_append(
    tail_seq bigint, tail_hash bytea, ids bigint[], ats timestamptz[], key_ids bigint[], tenants text[],
    clients text[], methods text[], paths text[], queries jsonb[], statuses integer[], durations real[],
    answers jsonb[], hashes bytea[]
) RETURNS TABLE (seq bigint, hash bytea, linked boolean)
LANGUAGE plpgsql AS $$
DECLARE
    last record;
    linked boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(7310043);
    -- a statement of its own, so its snapshot is taken after the lock: it sees every committed append
    SELECT a.seq, a.hash INTO last FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
    linked := COALESCE(last.seq, 0) = tail_seq AND COALESCE(last.hash, '\x'::bytea) = tail_hash;
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
    RETURN QUERY SELECT a.seq, a.hash, linked FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
END
$$;
