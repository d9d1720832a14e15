import GRDB
import GRDBSQLite

/// An INSERT (or UPDATE) prepared by GRDB but bound and stepped through SQLite's C API.
///
/// A first sync writes 100,000 users and a million memberships; building a
/// `StatementArguments` array of boxed values for every row cost more than SQLite's own work.
/// Values are bound in column order with ``bind(_:)-(Int64)`` and friends, then ``step()``
/// runs the statement and resets it for the next row. Use it only inside a write
/// transaction GRDB opened (``Store/apply(_:run:syncState:)``).
struct DirectInsert {
    private let statement: Statement
    private let db: Database
    private var column: Int32 = 0
    nonisolated(unsafe) private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    nonisolated(unsafe) private static let empty: UnsafePointer<CChar> = {
        let byte = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        byte.pointee = 0
        return UnsafePointer(byte)
    }()

    init(_ db: Database, sql: String) throws {
        self.db = db
        statement = try db.makeStatement(sql: sql)
    }

    mutating func bind(_ value: Int64) {
        column += 1
        sqlite3_bind_int64(statement.sqliteStatement, column, value)
    }

    mutating func bind(_ value: Bool) { bind(Int64(value ? 1 : 0)) }

    mutating func bind(_ value: String?) {
        column += 1
        guard var value else {
            sqlite3_bind_null(statement.sqliteStatement, column)
            return
        }
        let column = column
        let statement = statement.sqliteStatement
        value.withUTF8 { bytes in
            // SQLITE_TRANSIENT: SQLite copies the bytes before this closure returns.
            bytes.withMemoryRebound(to: CChar.self) { text in
                _ = sqlite3_bind_text(statement, column, text.baseAddress ?? Self.empty, Int32(text.count), Self.transient)
            }
        }
    }

    /// Runs the statement with the values bound since the last step.
    mutating func step() throws {
        let code = sqlite3_step(statement.sqliteStatement)
        sqlite3_reset(statement.sqliteStatement)
        column = 0
        guard code == SQLITE_DONE else { throw db.directError(code, sql: statement.sql) }
    }
}

extension Database {
    /// The error of a statement stepped through SQLite's C API, as GRDB would report it.
    func directError(_ code: Int32, sql: String) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqliteConnection)), sql: sql)
    }
}
