import Foundation
import GRDB
import LDAPClient

/// The store's schema. Migrations are append-only: never edit one that has shipped.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: snapshot and runs") { db in
            try db.execute(sql: """
                -- Users and groups have an integer ref; memberships point at refs, which keeps
                -- a million rows small and fast to write (ids are 36-character UUIDs).
                CREATE TABLE "user" (
                    ref INTEGER PRIMARY KEY,
                    directory TEXT NOT NULL,
                    id TEXT NOT NULL,
                    dn TEXT NOT NULL,
                    username TEXT,
                    mail TEXT,
                    aliases TEXT NOT NULL DEFAULT '[]',
                    display_name TEXT,
                    disabled INTEGER NOT NULL DEFAULT 0,
                    -- DirectoryUser.stableDigest and .resolutionDigest (bit patterns of UInt64), NULL when unknown.
                    digest INTEGER,
                    resolution_digest INTEGER,
                    UNIQUE (directory, id)
                );
                CREATE INDEX user_username ON "user"(directory, username COLLATE NOCASE);
                CREATE INDEX user_mail ON "user"(directory, mail COLLATE NOCASE);

                CREATE TABLE "group" (
                    ref INTEGER PRIMARY KEY,
                    directory TEXT NOT NULL,
                    id TEXT NOT NULL,
                    dn TEXT NOT NULL,
                    name TEXT NOT NULL,
                    mail TEXT,
                    -- MemberDigest of the direct members (bit patterns of UInt64), NULL when unknown.
                    members_sum INTEGER,
                    members_xor INTEGER,
                    members_count INTEGER,
                    -- The directory's change marker (entryCSN) as of the last applied run.
                    change_marker TEXT,
                    UNIQUE (directory, id)
                );
                CREATE INDEX group_name ON "group"(directory, name COLLATE NOCASE);

                -- Direct edges only; member_kind 0 = user, 1 = group. Effective membership is a
                -- recursive query over membership_member (member → the groups that contain it).
                -- The only writer (SnapshotWriter) keeps refs consistent, so no foreign keys
                -- slow down a first sync's million inserts.
                CREATE TABLE membership (
                    group_ref INTEGER NOT NULL,
                    member_kind INTEGER NOT NULL CHECK (member_kind IN (0, 1)),
                    member_ref INTEGER NOT NULL,
                    PRIMARY KEY (group_ref, member_kind, member_ref)
                ) WITHOUT ROWID;
                CREATE INDEX membership_member ON membership(member_kind, member_ref, group_ref);

                CREATE TABLE unresolved_member (
                    group_ref INTEGER NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (group_ref, value)
                ) WITHOUT ROWID;

                CREATE TABLE run (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    directory TEXT NOT NULL,
                    trigger TEXT NOT NULL,
                    mode TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    finished_at TEXT NOT NULL,
                    counts TEXT NOT NULL,
                    totals TEXT NOT NULL,
                    -- All changes of the run; run_change keeps the first ones (Planner.defaultDescribeLimit).
                    changes_total INTEGER NOT NULL DEFAULT 0,
                    message TEXT
                );
                CREATE INDEX run_directory ON run(directory, id);

                CREATE TABLE run_change (
                    run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
                    seq INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    action TEXT NOT NULL,
                    object_id TEXT NOT NULL,
                    dn TEXT NOT NULL,
                    summary TEXT NOT NULL,
                    fields TEXT NOT NULL DEFAULT '[]',
                    PRIMARY KEY (run_id, seq)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2: lookup keys, configuration versions, landing results") { db in
            try db.execute(sql: """
                -- Verification looks users up by username, mail, alias or DN, case-insensitively,
                -- in every directory: indexes that do not start with the directory.
                ALTER TABLE "user" ADD COLUMN dn_key TEXT;
                ALTER TABLE "group" ADD COLUMN dn_key TEXT;
                CREATE INDEX user_username_any ON "user"(username COLLATE NOCASE);
                CREATE INDEX user_dn_key ON "user"(dn_key);
                CREATE INDEX group_dn_key ON "group"(dn_key);
                CREATE INDEX group_name_any ON "group"(name COLLATE NOCASE);

                -- Every address a user receives mail at: mail and aliases (mailAlternateAddress,
                -- proxyAddresses smtp: values, userPrincipalName). Kept by SnapshotWriter, like
                -- membership, without a foreign key.
                CREATE TABLE user_address (
                    address TEXT NOT NULL COLLATE NOCASE,
                    user_ref INTEGER NOT NULL,
                    PRIMARY KEY (address, user_ref)
                ) WITHOUT ROWID;
                CREATE INDEX user_address_user ON user_address(user_ref);

                -- The configuration file each run used (it never holds a password), by digest.
                CREATE TABLE config_version (
                    digest TEXT PRIMARY KEY,
                    file TEXT NOT NULL,
                    text TEXT NOT NULL,
                    first_used_at TEXT NOT NULL
                );
                ALTER TABLE run ADD COLUMN config_digest TEXT REFERENCES config_version(digest);

                -- The landing report: per run, each intent's users and expected targets.
                CREATE TABLE landing (
                    run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
                    intent TEXT NOT NULL,
                    user_key TEXT NOT NULL,
                    user_label TEXT NOT NULL,
                    target_kind TEXT NOT NULL,
                    target_name TEXT NOT NULL,
                    landed INTEGER NOT NULL,
                    reason TEXT,
                    path TEXT,
                    PRIMARY KEY (run_id, intent, user_key, target_kind, target_name)
                ) WITHOUT ROWID;
                """)
            // Fill the new keys of a store written by v1.
            let users = try Row.fetchAll(db, sql: "SELECT ref, dn, mail, aliases FROM \"user\"")
            let decoder = JSONDecoder()
            for row in users {
                let ref: Int64 = row[0]
                try db.execute(sql: "UPDATE \"user\" SET dn_key = ? WHERE ref = ?", arguments: [DNKey.of(row[1]), ref])
                let aliases = (try? decoder.decode([String].self, from: Data((row[3] as String).utf8))) ?? []
                for address in Set(([row[2] as String?] + aliases.map(Optional.some)).compactMap { $0?.lowercased() }) {
                    try db.execute(sql: "INSERT OR IGNORE INTO user_address (address, user_ref) VALUES (?, ?)", arguments: [address, ref])
                }
            }
            for row in try Row.fetchAll(db, sql: "SELECT ref, dn FROM \"group\"") {
                try db.execute(sql: "UPDATE \"group\" SET dn_key = ? WHERE ref = ?", arguments: [DNKey.of(row[1]), row[0] as Int64])
            }
        }
        migrator.registerMigration("v3: group type") { db in
            try db.execute(sql: "ALTER TABLE \"group\" ADD COLUMN group_type TEXT")
        }
        migrator.registerMigration("v4: incremental sync state, AD primary groups") { db in
            try db.execute(sql: """
                -- AD: a user's primary group (SID) and a group's own SID, so an incremental run
                -- can tell who belongs to a group through primaryGroupID without reading everyone.
                ALTER TABLE "user" ADD COLUMN primary_group TEXT;
                ALTER TABLE "group" ADD COLUMN sid TEXT;
                CREATE INDEX user_primary_group ON "user"(directory, primary_group) WHERE primary_group IS NOT NULL;
                CREATE INDEX group_sid ON "group"(directory, sid) WHERE sid IS NOT NULL;

                -- Where the next incremental run of a directory starts: the change feed's
                -- cookie as of the last applied run, written in the same transaction as it.
                CREATE TABLE sync_state (
                    directory TEXT PRIMARY KEY,
                    method TEXT NOT NULL,
                    -- The server the cookie belongs to (AD: dsServiceName; USNs count per DC).
                    server TEXT,
                    -- A digest of what the runs read (bases, scopes, filters, attributes): a
                    -- cookie taken under another configuration says nothing about this one.
                    scope_digest TEXT NOT NULL DEFAULT '',
                    cookie BLOB NOT NULL,
                    -- AD: the objectGUIDs of the containers (OUs) in scope at the full run, as a
                    -- JSON list: a change to one of them (a rename or move) makes the next run full.
                    containers TEXT NOT NULL DEFAULT '[]',
                    -- When the full run that started this chain of incremental runs finished.
                    full_run_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v5: user change markers") { db in
            try db.execute(sql: """
                -- A hash of the user's change marker (entryCSN) as last read whole, with the
                -- attribute mapping's scope: a user whose marker did not move is not read again
                -- by a full run. A hash, not the text: only equality matters.
                ALTER TABLE "user" ADD COLUMN change_marker_hash INTEGER;
                """)
        }
        migrator.registerMigration("v6: address domains") { db in
            try db.execute(sql: """
                -- The domain of an address (after its last @, lower-cased), computed by SQLite
                -- and indexed: profile groups, relay profiles and intents that name a domain find
                -- its users by the index instead of a LIKE scan of every address (12 ms on
                -- 100,000). rtrim(a, a without its @s) is a up to its last @.
                ALTER TABLE user_address ADD COLUMN domain TEXT GENERATED ALWAYS AS (
                    CASE WHEN instr(address, '@') > 0
                        THEN lower(substr(address, length(rtrim(address, replace(address, '@', ''))) + 1)) END
                ) VIRTUAL;
                CREATE INDEX user_address_domain ON user_address(domain);
                """)
        }
        migrator.registerMigration("v7: unused lookup indexes dropped") { db in
            try db.execute(sql: """
                -- No query looks users up by mail (addresses are found through user_address), and
                -- the lookups by username or group name use the indexes without the directory
                -- (user_username_any, group_name_any), a name being rare in more than one
                -- directory. The three cost every write and a first sync about 0.2 s of index
                -- building on 100,000 users; SQLite also picked user_mail for whole-directory
                -- reads, an index walk where a scan is cheaper.
                DROP INDEX IF EXISTS user_mail;
                DROP INDEX IF EXISTS user_username;
                DROP INDEX IF EXISTS group_name;
                """)
        }
        return migrator
    }
}

/// The key a DN is looked up by: normalised (case, spacing, escapes), or the lower-cased text
/// when it does not parse.
public enum DNKey {
    public static func of(_ dn: String) -> String {
        DistinguishedName.normalizedKey(dn) ?? dn.lowercased()
    }
}
