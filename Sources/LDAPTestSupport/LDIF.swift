import Foundation

/// Builds LDIF text (RFC 2849) for fixtures, encoding values that are not safe as plain
/// text (non-ASCII, leading space, colon or `<`, line breaks) in base64.
public struct LDIFEntry: Sendable {
    public var dn: String
    public var attributes: [(String, String)]

    public init(dn: String, _ attributes: [(String, String)]) {
        self.dn = dn
        self.attributes = attributes
    }

    /// The entry as LDIF. Values of one attribute are written together, in the order the
    /// attribute first appears: slapadd keeps only one run of lines per attribute.
    public var text: String {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in attributes {
            let key = name.lowercased()
            if values[key] == nil { order.append(name) }
            values[key, default: []].append(value)
        }
        var out = LDIF.line("dn", dn)
        for name in order {
            for value in values[name.lowercased()] ?? [] { out += LDIF.line(name, value) }
        }
        return out + "\n"
    }
}

public enum LDIF {
    public static func line(_ name: String, _ value: String) -> String {
        let bytes = Array(value.utf8)
        let unsafe = bytes.first.map { $0 == 0x20 || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "<") } ?? false
            || bytes.last == 0x20
            || bytes.contains { $0 >= 0x80 || $0 == 0x0A || $0 == 0x0D || $0 == 0 }
        if unsafe { return "\(name):: \(Data(bytes).base64EncodedString())\n" }
        return "\(name): \(value)\n"
    }

    public static func document(_ entries: [LDIFEntry]) -> String {
        entries.map(\.text).joined()
    }
}
