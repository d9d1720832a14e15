import Foundation
import NIOCore
import PostgresNIO
import SyncConfig

/// A value for a multi-row statement: PostgresNIO binds arrays without NULL elements only,
/// so nullable columns go in as rows of parameters instead.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case small(Int16)
    case text(String)
    case boolean(Bool)
    case time(Date)
    case bytes([UInt8])

    public init(_ text: String?) { self = text.map(SQLValue.text) ?? .null }

    func bind(to bindings: inout PostgresBindings) {
        switch self {
        case .null: bindings.appendNull()
        case .integer(let number): bindings.append(number)
        case .small(let number): bindings.append(number)
        case .text(let text): bindings.append(text)
        case .boolean(let flag): bindings.append(flag)
        case .time(let date): bindings.append(date)
        case .bytes(let bytes): bindings.append(ByteBuffer(bytes: bytes))
        }
    }
}

extension PostgresSession.Transaction {
    /// Runs `head` (e.g. `INSERT INTO t (a, b) VALUES`) with `rows` as `($1, $2), ($3, $4), …`,
    /// as many rows per statement as PostgreSQL's 65,535 parameters allow, then `tail`
    /// (e.g. `RETURNING id`); returns every statement's rows.
    @discardableResult
    public func values(_ head: String, _ rows: [[SQLValue]], tail: String = "") throws(PostgresStoreError) -> [PostgresRow] {
        guard let width = rows.first?.count, width > 0 else { return [] }
        let perStatement = max(1, 65_535 / width)
        var returned: [PostgresRow] = []
        var start = 0
        while start < rows.count {
            let slice = rows[start..<min(rows.count, start + perStatement)]
            var bindings = PostgresBindings(capacity: slice.count * width)
            var sql = head + " "
            sql.reserveCapacity(head.utf8.count + slice.count * width * 8 + tail.utf8.count)
            var parameter = 0
            for (index, row) in slice.enumerated() {
                precondition(row.count == width, "every row of a multi-row statement has the same width")
                sql += index == 0 ? "(" : ", ("
                for (position, value) in row.enumerated() {
                    parameter += 1
                    sql += position == 0 ? "$\(parameter)" : ", $\(parameter)"
                    value.bind(to: &bindings)
                }
                sql += ")"
            }
            sql += " " + tail
            returned += try query(PostgresQuery(unsafeSQL: sql, binds: bindings))
            start += perStatement
        }
        return returned
    }
}
