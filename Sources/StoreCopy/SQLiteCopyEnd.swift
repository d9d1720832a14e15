import Foundation
import SyncStore

/// An SQLite store file as one end of a copy.
struct SQLiteCopyEnd: CopyEnd {
    let store: Store
    var label: String { store.path }

    func read<T>(_ body: (any CopyReader) throws -> T) throws -> T {
        try store.readTables { tables in try body(Reader(tables: tables)) }
    }

    func write<T>(_ body: (any CopyWriter) throws -> T) throws -> T {
        try store.writeTables { tables in try body(Writer(tables: tables)) }
    }

    struct Reader: CopyReader {
        let tables: StoreTableReader

        func count(_ table: CopyTable) throws -> Int { try tables.count(table.name) }

        func rows(_ table: CopyTable, batch: Int, _ body: ([[CopyValue]]) throws -> Void) throws {
            try tables.rows(table.name, columns: table.columnNames, orderBy: table.key, batch: batch) { rows in
                try body(try rows.map { row in
                    try zip(table.columns, row).map { column, value in try SQLiteCopyEnd.copyValue(value, column, table: table.name) }
                })
            }
        }
    }

    struct Writer: CopyWriter {
        let tables: StoreTableWriter

        func count(_ table: CopyTable) throws -> Int { try tables.count(table.name) }

        func deleteAll(_ tables: [CopyTable]) throws {
            for table in tables { try self.tables.deleteAll(table.name) }
        }

        func insert(_ table: CopyTable, rows: [[CopyValue]]) throws {
            try tables.insert(table.name, columns: table.columnNames, rows: rows.map { row in
                zip(table.columns, row).map { column, value in SQLiteCopyEnd.storeValue(value, column) }
            })
        }

        func finish(_ tables: [CopyTable]) throws {}
    }

    static func copyValue(_ value: StoreValue, _ column: CopyColumn, table: String) throws -> CopyValue {
        switch (column.kind, value) {
        case (_, .null): return .null
        case (.integer, .integer(let number)), (.small, .integer(let number)): return .integer(number)
        case (.boolean, .integer(let number)) where number == 0 || number == 1: return .boolean(number == 1)
        case (.text, .text(let text)): return .text(text)
        case (.time, .text(let text)):
            guard let milliseconds = TimeText.milliseconds(text) else {
                throw CopyValueError(table: table, column: column.name, found: "\"\(text)\"")
            }
            return .time(milliseconds)
        case (.bytes, .blob(let bytes)): return .bytes(bytes)
        default: throw CopyValueError(table: table, column: column.name, found: "\(value)")
        }
    }

    static func storeValue(_ value: CopyValue, _ column: CopyColumn) -> StoreValue {
        switch value {
        case .null: return .null
        case .integer(let number): return .integer(number)
        case .text(let text): return .text(text)
        case .boolean(let flag): return .integer(flag ? 1 : 0)
        case .time(let milliseconds):
            guard case .time(let format) = column.kind else { return .text(TimeText.text(milliseconds, .space)) }
            return .text(TimeText.text(milliseconds, format))
        case .bytes(let bytes): return .blob(bytes)
        }
    }
}
