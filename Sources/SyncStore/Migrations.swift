import GRDB

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
        return migrator
    }
}
