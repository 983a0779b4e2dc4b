-- The message database: the live storage server's schema (owners, messages by owner,
-- namespace, hash and expiry, revoked subaccounts), with three changes on purpose: an owner row
-- stays while it has revocations (see db.rs), a message keeps its store's signature, and the
-- messages are indexed by (owner, namespace) rather than (owner, namespace, timestamp): that
-- index's entries are in id order, so a retrieve reads an account's messages in the order it
-- answers them instead of sorting them first (a database made before drops the old index).
CREATE TABLE IF NOT EXISTS owners (
    id INTEGER PRIMARY KEY,
    type INTEGER NOT NULL,
    pubkey BLOB NOT NULL,
    UNIQUE(pubkey, type)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    owner INTEGER NOT NULL REFERENCES owners(id),
    namespace INTEGER NOT NULL DEFAULT 0,
    timestamp INTEGER NOT NULL,
    expiry INTEGER NOT NULL,
    data BLOB NOT NULL,
    proof BLOB, -- the store's signature (sesh_rpc::proof), in namespaces that need one
    UNIQUE(hash)
);
CREATE TABLE IF NOT EXISTS revoked_subaccounts (
    owner INTEGER REFERENCES owners(id) ON DELETE CASCADE,
    token BLOB NOT NULL,
    timestamp INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5)*86400000 AS INTEGER)),
    PRIMARY KEY(owner, token)
);
CREATE TRIGGER IF NOT EXISTS revoked_autoclean
    AFTER INSERT ON revoked_subaccounts
    WHEN (SELECT COUNT(*) FROM revoked_subaccounts WHERE owner = NEW.owner) > 50
    BEGIN
        DELETE FROM revoked_subaccounts
            WHERE owner = NEW.owner AND rowid NOT IN (
                SELECT rowid FROM revoked_subaccounts WHERE owner = NEW.owner
                ORDER BY timestamp DESC, rowid DESC LIMIT 50);
    END;
CREATE TRIGGER IF NOT EXISTS owner_autoclean_keeping_revocations
    AFTER DELETE ON messages FOR EACH ROW
    WHEN NOT EXISTS (SELECT * FROM messages WHERE owner = old.owner)
        AND NOT EXISTS (SELECT * FROM revoked_subaccounts WHERE owner = old.owner)
    BEGIN
        DELETE FROM owners WHERE id = old.owner;
    END;
CREATE INDEX IF NOT EXISTS messages_expiry ON messages(expiry);
DROP INDEX IF EXISTS messages_owner;
CREATE INDEX IF NOT EXISTS messages_owner_id ON messages(owner, namespace);
