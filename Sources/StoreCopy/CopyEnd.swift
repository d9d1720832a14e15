/// One value of a copied row, independent of either backend's types.
enum CopyValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case boolean(Bool)
    /// Milliseconds since 1970, UTC.
    case time(Int64)
    case bytes([UInt8])
}

/// One side of a copy: a store it can read every table of, in one consistent snapshot, or
/// write every table of, in one transaction.
protocol CopyEnd {
    /// How messages name it: the SQLite file or `user@host:port/database`.
    var label: String { get }
    func read<T>(_ body: (any CopyReader) throws -> T) throws -> T
    func write<T>(_ body: (any CopyWriter) throws -> T) throws -> T
}

protocol CopyReader {
    func count(_ table: CopyTable) throws -> Int
    /// Every row in key order, `batch` rows at a time.
    func rows(_ table: CopyTable, batch: Int, _ body: ([[CopyValue]]) throws -> Void) throws
}

protocol CopyWriter {
    func count(_ table: CopyTable) throws -> Int
    /// Empties the tables (given children first).
    func deleteAll(_ tables: [CopyTable]) throws
    func insert(_ table: CopyTable, rows: [[CopyValue]]) throws
    /// After the rows are in (identity sequences continue after the copied values).
    func finish(_ tables: [CopyTable]) throws
}

/// A value that does not fit its column: named by table, column and row.
struct CopyValueError: Error, CustomStringConvertible {
    var table: String
    var column: String
    var found: String
    var description: String { "\(table).\(column) holds \(found), which is not a value of that column" }
}
