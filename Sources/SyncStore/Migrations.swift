import GRDB

/// The store's schema. Migrations are append-only: never edit one that has shipped.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: snapshot and runs") { db in
            try db.execute(sql: """
                CREATE TABLE "user" (
                    directory TEXT NOT NULL,
                    id TEXT NOT NULL,
                    dn TEXT NOT NULL,
                    username TEXT,
                    mail TEXT,
                    aliases TEXT NOT NULL DEFAULT '[]',
                    display_name TEXT,
                    disabled INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (directory, id)
                ) WITHOUT ROWID;
                CREATE INDEX user_username ON "user"(directory, username COLLATE NOCASE);
                CREATE INDEX user_mail ON "user"(directory, mail COLLATE NOCASE);

                CREATE TABLE "group" (
                    directory TEXT NOT NULL,
                    id TEXT NOT NULL,
                    dn TEXT NOT NULL,
                    name TEXT NOT NULL,
                    mail TEXT,
                    -- MemberDigest of the direct members (bit patterns of UInt64), NULL when unknown.
                    members_sum INTEGER,
                    members_xor INTEGER,
                    members_count INTEGER,
                    PRIMARY KEY (directory, id)
                ) WITHOUT ROWID;
                CREATE INDEX group_name ON "group"(directory, name COLLATE NOCASE);

                -- Direct edges only; effective membership is a recursive query over
                -- membership_member (member → the groups that contain it).
                CREATE TABLE membership (
                    directory TEXT NOT NULL,
                    group_id TEXT NOT NULL,
                    member_kind TEXT NOT NULL CHECK (member_kind IN ('user', 'group')),
                    member_id TEXT NOT NULL,
                    PRIMARY KEY (directory, group_id, member_kind, member_id)
                ) WITHOUT ROWID;
                CREATE INDEX membership_member ON membership(directory, member_kind, member_id, group_id);

                CREATE TABLE unresolved_member (
                    directory TEXT NOT NULL,
                    group_id TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (directory, group_id, value)
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
