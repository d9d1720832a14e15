import GRDB

/// Secondary indexes set aside while a large plan is written, then built again.
///
/// Inserting 100,000 users and a million memberships one row at a time updates every
/// secondary index in random key order; once the indexes outgrow the page cache each insert
/// reads and spills pages. Building an index after the rows are in sorts the keys once,
/// which is several times faster. Everything happens inside the apply transaction: readers
/// keep seeing the previous snapshot with its indexes, and a failed apply rolls the dropped
/// indexes back with the rows. The indexes are rebuilt from their own stored definitions
/// (`sqlite_master`), so the migrations stay the only place that defines them.
struct BulkLoad {
    /// Fewer added rows than this, or fewer than the table already holds: indexes stay.
    static let threshold = 20_000

    let db: Database
    private var definitions: [String] = []

    init(db: Database) {
        self.db = db
    }

    /// Sets aside the secondary indexes of `table` when `adding` rows is large next to what
    /// the table holds. Automatic indexes (primary keys, UNIQUE constraints) always stay.
    mutating func setAsideIndexes(of table: String, adding: Int) throws {
        guard adding >= Self.threshold else { return }
        let held = try Int.fetchOne(db, sql: "SELECT count(*) FROM \"\(table)\"") ?? 0
        guard adding >= held else { return }
        let indexes = try Row.fetchAll(
            db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", arguments: [table])
        for index in indexes {
            let name: String = index["name"]
            definitions.append(index["sql"])
            try db.execute(sql: "DROP INDEX \"\(name)\"")
        }
    }

    /// Builds every index set aside again. (SQLite gives the sort as much memory as the
    /// page cache, which the store keeps small: see `Store.init`.)
    mutating func rebuild() throws {
        for definition in definitions { try db.execute(sql: definition) }
        definitions.removeAll()
    }
}
