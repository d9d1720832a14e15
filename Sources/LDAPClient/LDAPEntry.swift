/// One search result entry: its DN and attributes, values kept as the bytes the server sent.
/// Decoding to text belongs to the mapping layer, which knows each attribute's syntax.
public struct LDAPEntry: Sendable, Hashable {
    public var dn: String
    /// Attributes in the order the server sent them.
    public var attributes: [LDAPAttribute]
    /// Controls sent with the entry (e.g. RFC 4533's Sync State); only read for searches
    /// sent with controls.
    public var controls: [LDAPControlValue] = []

    public init(dn: String, attributes: [LDAPAttribute], controls: [LDAPControlValue] = []) {
        self.dn = dn
        self.attributes = attributes
        self.controls = controls
    }

    /// The values of an attribute, matched case-insensitively on the name and ignoring
    /// options such as `;binary` only when asked for exactly. Empty when absent.
    public subscript(_ name: String) -> [[UInt8]] {
        for attribute in attributes where attribute.name.caseInsensitiveEquals(name) {
            return attribute.values
        }
        return []
    }

    /// The first value of an attribute decoded as UTF-8, or nil when absent.
    public func string(_ name: String) -> String? {
        self[name].first.map { String(decoding: $0, as: UTF8.self) }
    }

    /// All values of an attribute decoded as UTF-8.
    public func strings(_ name: String) -> [String] {
        self[name].map { String(decoding: $0, as: UTF8.self) }
    }
}

/// One attribute of an entry: its name as the server spelled it, and its values as bytes.
public struct LDAPAttribute: Sendable, Hashable {
    public var name: String
    public var values: [[UInt8]]

    public init(name: String, values: [[UInt8]]) {
        self.name = name
        self.values = values
    }

    public init(name: String, strings: [String]) {
        self.init(name: name, values: strings.map { Array($0.utf8) })
    }
}

extension String {
    /// ASCII case-insensitive equality, which is what attribute type names need (RFC 4512 §2.5).
    func caseInsensitiveEquals(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        var lhs = self, rhs = other
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in
                for index in 0..<left.count where asciiLower(left[index]) != asciiLower(right[index]) { return false }
                return true
            }
        }
    }
}

@inline(__always)
func asciiLower(_ byte: UInt8) -> UInt8 {
    (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
}
