-- Announces every committed change to clients and sessions on the channel
-- tessera_client_changes, so that each server process sharing this database
-- drops the clients it keeps in memory (see the store's `changes` module).
-- The notification is sent when the writing transaction commits, and only
-- then; PostgreSQL folds a transaction's identical notifications into one.
-- A new client is not announced: no process can hold it yet.
CREATE FUNCTION tessera_announce_client_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tessera_client_changes', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER clients_changed
    AFTER UPDATE OR DELETE OR TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_announce_client_change();

CREATE TRIGGER sessions_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_announce_client_change();
