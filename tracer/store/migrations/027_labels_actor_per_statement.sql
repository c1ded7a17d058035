-- labels.actor_id's foreign key queued and fired a trigger for every label written, though most labels name
-- no actor (measured on the bundled lists: 79,281 calls, ~50 ms of PostgreSQL CPU in the import, for ~2,000
-- labels that link to one). Its two rules now hold per statement, as 015 did for the address and source keys:
-- an actor id written to labels must name an actor (labels_check_keys; the import's INSERT takes its actor
-- ids from its own join with actors and is not checked again, 018), and deleting actors unlinks their labels
-- (it was ON DELETE SET NULL). A label keeps the key its source gave (actor_key), from which
-- tracer.store.actors.link_labels, run by every import, sets actor_id again.

ALTER TABLE labels DROP CONSTRAINT labels_actor_id_fkey;

CREATE OR REPLACE FUNCTION labels_check_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('tracer.label_keys', true) = 'joined' THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM written w WHERE NOT EXISTS (SELECT 1 FROM addresses a WHERE a.id = w.address_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'a label names an address id that does not exist',
            TABLE = 'labels', CONSTRAINT = 'labels_address_id_fkey';
    END IF;
    IF EXISTS (SELECT 1 FROM written w
               WHERE NOT EXISTS (SELECT 1 FROM label_sources s WHERE s.id = w.source_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'a label names a label source that does not exist',
            TABLE = 'labels', CONSTRAINT = 'labels_source_id_fkey';
    END IF;
    IF EXISTS (SELECT 1 FROM written w
               WHERE w.actor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM actors k WHERE k.id = w.actor_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'a label names an actor that does not exist',
            TABLE = 'labels', CONSTRAINT = 'labels_actor_id_fkey';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION actors_unlink_labels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE labels l SET actor_id = NULL FROM gone g WHERE l.actor_id = g.id;
    RETURN NULL;
END $$;

CREATE TRIGGER actors_deleted AFTER DELETE ON actors
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION actors_unlink_labels();
