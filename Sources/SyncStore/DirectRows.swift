import GRDB
import GRDBSQLite

/// A SELECT prepared by GRDB whose rows are read through SQLite's C API: for the reads that
/// visit every user of a directory (100,000 rows), where a GRDB `Row` per row costs more
/// than SQLite's own work. Use inside a GRDB read or write block.
struct DirectRows {
    private let statement: Statement
    private let db: Database

    init(_ db: Database, sql: String, arguments: StatementArguments) throws {
        try self.init(db, statement: try db.makeStatement(sql: sql), arguments: arguments)
    }

    /// With a statement prepared once (`db.cachedStatement`) for many reads.
    init(_ db: Database, statement: Statement, arguments: StatementArguments) throws {
        self.db = db
        self.statement = statement
        try statement.setArguments(arguments)
    }

    /// Calls `body` for each row; `body` reads the columns through the ``Columns`` it gets.
    func forEach(_ body: (Columns) throws -> Void) throws {
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw db.directError(code, sql: statement.sql) }
            try body(Columns(handle: handle))
        }
    }

    /// The current row's columns, by index from 0.
    struct Columns {
        let handle: SQLiteStatement

        func isNull(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }

        func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }

        /// The column's text as bytes, valid only inside `body` (empty for NULL).
        func withBytes<T>(_ index: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
            let text = sqlite3_column_text(handle, index)
            return try body(UnsafeBufferPointer(start: text, count: text == nil ? 0 : Int(sqlite3_column_bytes(handle, index))))
        }

        /// The column as text (an empty string for NULL).
        func string(_ index: Int32) -> String {
            guard let text = sqlite3_column_text(handle, index) else { return "" }
            return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, index))), as: UTF8.self)
        }
    }
}
