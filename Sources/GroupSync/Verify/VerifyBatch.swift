import Foundation
import SyncConfig
import Verification

/// `verify --file`: a CSV file with a header line naming a `user` column and one or more
/// of `group`, `policy` and `profile_group`; one verification per row.
///
/// Parsed here rather than with a CSV package: errors must name the file's line, and a
/// quoted DN (`"cn=a,ou=groups,…"`) must stay one field.
public struct VerifyBatch: Sendable {
    public struct Row: Sendable {
        public var line: Int
        public var user: String
        public var targets: [Target]
    }

    public var rows: [Row]

    public static let targetColumns = ["group", "policy", "profile_group"]

    /// Far above any batch of onboarding checks.
    public static let maximumFileBytes = 64 << 20

    public init(path: String) throws(VerifyError) {
        let data: Data
        switch BoundedFile.read(path, maximumBytes: Self.maximumFileBytes) {
        case .success(let contents): data = contents
        case .failure(.notRegular): throw .usage("\(path): not a regular file")
        case .failure(.tooBig(let size)): throw .usage("\(path): \(size) bytes; a verification file is at most \(Self.maximumFileBytes) (64 MiB)")
        case .failure(.unreadable): throw .usage("cannot read \(path) (missing or no permission)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            // Name the first line that is not UTF-8.
            var line = 1
            for bytes in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
                if String(data: Data(bytes), encoding: .utf8) == nil { break }
                line += 1
            }
            throw .usage("\(path):\(line): not valid UTF-8 (save the file as UTF-8)")
        }
        try self.init(csv: text, file: path)
    }

    public init(csv text: String, file: String) throws(VerifyError) {
        let records = try Self.records(text, file: file)
        guard let header = records.first else { throw .usage("\(file): empty; expected a header line such as user,group") }
        let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        for column in columns where column != "user" && !Self.targetColumns.contains(column) {
            throw .usage("\(file):\(header.line): unknown column \"\(column)\"; expected user and one or more of group, policy, profile_group")
        }
        guard let userColumn = columns.firstIndex(of: "user"), columns.contains(where: Self.targetColumns.contains) else {
            throw .usage("\(file):\(header.line): the header needs a user column and a group, policy or profile_group column")
        }
        rows = []
        for record in records.dropFirst() {
            if record.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            guard record.fields.count == columns.count else {
                throw .usage("\(file):\(record.line): \(record.fields.count) fields, the header has \(columns.count) (quote values that contain commas, such as DNs)")
            }
            let user = record.fields[userColumn].trimmingCharacters(in: .whitespaces)
            guard !user.isEmpty else { throw .usage("\(file):\(record.line): the user column is empty") }
            var targets: [Target] = []
            for (index, column) in columns.enumerated() where column != "user" {
                let value = record.fields[index].trimmingCharacters(in: .whitespaces)
                guard !value.isEmpty else { continue }
                switch column {
                case "group": targets.append(.group(value))
                case "policy": targets.append(.policy(value))
                default: targets.append(.profileGroup(value))
                }
            }
            guard !targets.isEmpty else { throw .usage("\(file):\(record.line): no target on this row") }
            do {
                try VerificationService.checkName(user, what: "user name")
                for target in targets { try VerificationService.checkName(target.name, what: "\(target.kind) name") }
            } catch {
                throw .usage("\(file):\(record.line): \(error)")
            }
            rows.append(Row(line: record.line, user: user, targets: targets))
        }
        guard !rows.isEmpty else { throw .usage("\(file): no rows after the header") }
    }

    struct Record {
        var line: Int
        var fields: [String]
    }

    /// RFC 4180: fields separated by commas, optionally quoted with `"`, `""` for a quote
    /// inside; CRLF or LF line ends.
    static func records(_ text: String, file: String) throws(VerifyError) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var afterQuote = false
        var line = 1
        var recordLine = 1
        var characters = Array(text.replacingOccurrences(of: "\r\n", with: "\n"))
        if characters.first == "\u{FEFF}" { characters.removeFirst() }
        var index = 0
        func endRecord() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(line: recordLine, fields: fields)) }
            fields = []
            field = ""
        }
        while index < characters.count {
            let character = characters[index]
            index += 1
            if quoted {
                if character == "\"" {
                    if index < characters.count && characters[index] == "\"" {
                        field.append("\"")
                        index += 1
                    } else {
                        quoted = false
                        afterQuote = true
                    }
                } else {
                    if character == "\n" { line += 1 }
                    field.append(character)
                }
                continue
            }
            switch character {
            case ",":
                fields.append(field)
                field = ""
                afterQuote = false
            case "\n":
                endRecord()
                afterQuote = false
                line += 1
                recordLine = line
            case "\"" where field.trimmingCharacters(in: .whitespaces).isEmpty && !afterQuote:
                field = ""
                quoted = true
            default:
                if afterQuote && character != " " {
                    throw .usage("\(file):\(line): text after a closing quote; write \"\" for a quote inside a quoted field")
                }
                field.append(character)
            }
        }
        if quoted { throw .usage("\(file):\(recordLine): a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
    }
}
