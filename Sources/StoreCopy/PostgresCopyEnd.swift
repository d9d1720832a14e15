import Foundation
import NIOCore
import PostgresNIO
import PostgresStore

/// A PostgreSQL store as one end of a copy: read in one read-only snapshot through a cursor,
/// written in one transaction with multi-row INSERTs.
struct PostgresCopyEnd: CopyEnd {
    let session: PostgresSession
    var label: String { session.settings.label }

    func read<T>(_ body: (any CopyReader) throws -> T) throws -> T {
        try session.transaction(.snapshotReadOnly) { transaction in try body(Reader(transaction: transaction)) }
    }

    func write<T>(_ body: (any CopyWriter) throws -> T) throws -> T {
        try session.transaction { transaction in try body(Writer(transaction: transaction)) }
    }

    struct Reader: CopyReader {
        let transaction: PostgresSession.Transaction

        func count(_ table: CopyTable) throws -> Int {
            Int(try transaction.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(quoted(table.name))")).first!.decode(Int64.self))
        }

        func rows(_ table: CopyTable, batch: Int, _ body: ([[CopyValue]]) throws -> Void) throws {
            let columns = table.columnNames.map(quoted).joined(separator: ", ")
            let order = table.key.map(quoted).joined(separator: ", ")
            try transaction.query(PostgresQuery(unsafeSQL:
                "DECLARE copy_rows NO SCROLL CURSOR FOR SELECT \(columns) FROM \(quoted(table.name)) ORDER BY \(order)"))
            while true {
                let rows = try transaction.query(PostgresQuery(unsafeSQL: "FETCH \(batch) FROM copy_rows"))
                if rows.isEmpty { break }
                try body(try rows.map { row in
                    try zip(table.columns, row).map { column, cell in try PostgresCopyEnd.copyValue(cell, column, table: table.name) }
                })
            }
            try transaction.query("CLOSE copy_rows")
        }
    }

    struct Writer: CopyWriter {
        let transaction: PostgresSession.Transaction

        func count(_ table: CopyTable) throws -> Int {
            Int(try transaction.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(quoted(table.name))")).first!.decode(Int64.self))
        }

        func deleteAll(_ tables: [CopyTable]) throws {
            try transaction.query(PostgresQuery(unsafeSQL: "TRUNCATE \(tables.map { quoted($0.name) }.joined(separator: ", "))"))
        }

        /// As many rows per INSERT as PostgreSQL's 65,535 parameters allow (the store's own
        /// multi-row statement).
        func insert(_ table: CopyTable, rows: [[CopyValue]]) throws {
            let sqlRows = try rows.map { row in
                try zip(table.columns, row).map { column, value in try PostgresCopyEnd.sqlValue(value, column, table: table.name) }
            }
            try transaction.values("INSERT INTO \(quoted(table.name)) (\(table.columnNames.map(quoted).joined(separator: ", "))) VALUES", sqlRows)
        }

        /// Identity columns continue after the largest copied value.
        func finish(_ tables: [CopyTable]) throws {
            for table in tables {
                guard let identity = table.identity else { continue }
                try transaction.query(PostgresQuery(unsafeSQL: """
                    SELECT setval(pg_get_serial_sequence('\(quoted(table.name))', '\(identity)'),
                                  COALESCE((SELECT max(\(quoted(identity))) FROM \(quoted(table.name))), 0) + 1, false)
                    """))
            }
        }
    }

    static func copyValue(_ cell: PostgresCell, _ column: CopyColumn, table: String) throws -> CopyValue {
        do {
            switch column.kind {
            case .integer: return try cell.decode(Int64?.self).map(CopyValue.integer) ?? .null
            case .small: return try cell.decode(Int16?.self).map { .integer(Int64($0)) } ?? .null
            case .text: return try cell.decode(String?.self).map(CopyValue.text) ?? .null
            case .boolean: return try cell.decode(Bool?.self).map(CopyValue.boolean) ?? .null
            case .time: return try cell.decode(Date?.self).map { .time(TimeText.milliseconds($0)) } ?? .null
            case .bytes: return try cell.decode(ByteBuffer?.self).map { .bytes(Array($0.readableBytesView)) } ?? .null
            }
        } catch {
            throw CopyValueError(table: table, column: column.name, found: "a value of PostgreSQL type \(cell.dataType)")
        }
    }

    static func sqlValue(_ value: CopyValue, _ column: CopyColumn, table: String) throws -> SQLValue {
        switch (value, column.kind) {
        case (.null, _): return .null
        case (.integer(let number), .small):
            guard let small = Int16(exactly: number) else { throw CopyValueError(table: table, column: column.name, found: "\(number)") }
            return .small(small)
        case (.integer(let number), _): return .integer(number)
        case (.text(let text), _): return .text(text)
        case (.boolean(let flag), _): return .boolean(flag)
        case (.time(let milliseconds), _): return .time(TimeText.date(milliseconds))
        case (.bytes(let bytes), _): return .bytes(bytes)
        }
    }
}

private func quoted(_ identifier: String) -> String {
    "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
