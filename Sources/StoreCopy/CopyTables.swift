/// The store's tables as `migrate-store` copies them: the same tables and columns in both
/// backends (the PostgreSQL schema mirrors the SQLite one), each column with the kind of
/// value it holds, in an order that satisfies the foreign keys (configurations before the
/// runs that name them, runs before their changes and landings).
struct CopyTable: Sendable {
    var name: String
    var columns: [CopyColumn]
    /// The primary key: rows are read in its order, so both ends list them alike.
    var key: [String]
    /// The identity column whose PostgreSQL sequence must continue after the copied values.
    var identity: String?

    var columnNames: [String] { columns.map(\.name) }
}

struct CopyColumn: Sendable {
    enum Kind: Sendable {
        case integer
        /// SMALLINT in PostgreSQL.
        case small
        case text
        /// 0/1 in SQLite, BOOLEAN in PostgreSQL.
        case boolean
        /// Text in SQLite (in the format the SQLite store writes that column in),
        /// TIMESTAMPTZ in PostgreSQL.
        case time(TimeText.Format)
        case bytes
    }

    var name: String
    var kind: Kind

    init(_ name: String, _ kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

enum CopyTables {
    static let all: [CopyTable] = [
        CopyTable(name: "user", columns: [
            .init("ref", .integer), .init("directory", .text), .init("id", .text), .init("dn", .text), .init("dn_key", .text),
            .init("username", .text), .init("mail", .text), .init("aliases", .text), .init("display_name", .text),
            .init("disabled", .boolean), .init("digest", .integer), .init("resolution_digest", .integer), .init("primary_group", .text),
            .init("change_marker_hash", .integer),
        ], key: ["ref"], identity: "ref"),
        CopyTable(name: "group", columns: [
            .init("ref", .integer), .init("directory", .text), .init("id", .text), .init("dn", .text), .init("dn_key", .text),
            .init("name", .text), .init("mail", .text), .init("group_type", .text), .init("sid", .text), .init("members_sum", .integer),
            .init("members_xor", .integer), .init("members_count", .integer), .init("change_marker", .text),
        ], key: ["ref"], identity: "ref"),
        CopyTable(name: "membership", columns: [.init("group_ref", .integer), .init("member_kind", .small), .init("member_ref", .integer)],
                  key: ["group_ref", "member_kind", "member_ref"]),
        CopyTable(name: "unresolved_member", columns: [.init("group_ref", .integer), .init("value", .text)], key: ["group_ref", "value"]),
        CopyTable(name: "user_address", columns: [.init("address", .text), .init("user_ref", .integer)], key: ["address", "user_ref"]),
        CopyTable(name: "config_version", columns: [
            .init("digest", .text), .init("file", .text), .init("text", .text), .init("first_used_at", .time(.space)),
        ], key: ["digest"]),
        CopyTable(name: "run", columns: [
            .init("id", .integer), .init("directory", .text), .init("trigger", .text), .init("mode", .text), .init("outcome", .text),
            .init("started_at", .time(.space)), .init("finished_at", .time(.space)), .init("counts", .text), .init("totals", .text),
            .init("changes_total", .integer), .init("message", .text), .init("config_digest", .text),
        ], key: ["id"], identity: "id"),
        CopyTable(name: "run_change", columns: [
            .init("run_id", .integer), .init("seq", .integer), .init("kind", .text), .init("action", .text), .init("object_id", .text),
            .init("dn", .text), .init("summary", .text), .init("fields", .text),
        ], key: ["run_id", "seq"]),
        CopyTable(name: "landing", columns: [
            .init("run_id", .integer), .init("intent", .text), .init("user_key", .text), .init("user_label", .text),
            .init("target_kind", .text), .init("target_name", .text), .init("landed", .boolean), .init("reason", .text), .init("path", .text),
        ], key: ["run_id", "intent", "user_key", "target_kind", "target_name"]),
        CopyTable(name: "sync_state", columns: [
            .init("directory", .text), .init("method", .text), .init("server", .text), .init("scope_digest", .text), .init("cookie", .bytes),
            .init("containers", .text), .init("full_run_at", .time(.iso)), .init("updated_at", .time(.iso)),
        ], key: ["directory"]),
    ]
}
