-- Nothing to do on SQLite: its one server process drops the clients it keeps
-- in memory after each of its own commits. (The PostgreSQL migration of this
-- number announces changes to the other processes sharing a database.)
SELECT 1;
