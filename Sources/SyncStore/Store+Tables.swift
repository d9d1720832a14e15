import Foundation
import GRDB

/// One stored value, as SQLite holds it, for copying a store table by table
/// (`groupsync migrate-store`).
public enum StoreValue: Sendable, Equatable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// Reads tables row by row inside one read transaction: every table as of the same moment.
public struct StoreTableReader {
    let db: Database

    /// The number of rows in `table`.
    public func count(_ table: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM \(quoted(table))") ?? 0
    }

    /// Every row of `table` as `columns`, ordered by `orderBy` (columns), in batches of `batch` rows.
    public func rows(_ table: String, columns: [String], orderBy: [String], batch: Int = 10_000, _ body: ([[StoreValue]]) throws -> Void) throws {
        let sql = "SELECT \(columns.map(quoted).joined(separator: ", ")) FROM \(quoted(table)) ORDER BY \(orderBy.map(quoted).joined(separator: ", "))"
        let cursor = try Row.fetchCursor(db, sql: sql)
        var rows: [[StoreValue]] = []
        rows.reserveCapacity(batch)
        while let row = try cursor.next() {
            rows.append((0..<columns.count).map { StoreValue(row[$0] as DatabaseValue) })
            if rows.count == batch {
                try body(rows)
                rows.removeAll(keepingCapacity: true)
            }
        }
        if !rows.isEmpty { try body(rows) }
    }
}

/// Writes tables inside one write transaction: all of them land, or none.
public struct StoreTableWriter {
    let db: Database

    public func count(_ table: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM \(quoted(table))") ?? 0
    }

    public func deleteAll(_ table: String) throws {
        try db.execute(sql: "DELETE FROM \(quoted(table))")
    }

    /// Inserts `rows` (values in `columns` order) into `table`.
    public func insert(_ table: String, columns: [String], rows: [[StoreValue]]) throws {
        let placeholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let statement = try db.cachedStatement(
            sql: "INSERT INTO \(quoted(table)) (\(columns.map(quoted).joined(separator: ", "))) VALUES \(placeholders)")
        for row in rows {
            try statement.execute(arguments: StatementArguments(row.map(\.databaseValue)))
        }
    }
}

extension Store {
    /// Runs `body` with a reader over one read transaction (a consistent copy while syncs
    /// may write: WAL readers see the snapshot of their start).
    public func readTables<T>(_ body: (StoreTableReader) throws -> T) throws(StoreError) -> T {
        try read("read the store's tables") { db in try body(StoreTableReader(db: db)) }
    }

    /// Runs `body` with a writer in one write transaction; nothing is written when it throws.
    public func writeTables<T>(_ body: (StoreTableWriter) throws -> T) throws(StoreError) -> T {
        try write("write the store's tables") { db in try body(StoreTableWriter(db: db)) }
    }
}

private func quoted(_ identifier: String) -> String {
    "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

extension StoreValue {
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let number): self = .integer(number)
        case .double(let number): self = .real(number)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob([UInt8](data))
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case .integer(let number): return number.databaseValue
        case .real(let number): return number.databaseValue
        case .text(let text): return text.databaseValue
        case .blob(let bytes): return Data(bytes).databaseValue
        }
    }
}
