/// An RFC 4514 distinguished name: parsed, rendered, and compared the way directories
/// compare names, so that a `member` value written in another case, escaping or RDN order
/// still matches its entry.
///
/// Equality and hashing use ``normalized``: attribute types lower-cased (well-known OIDs
/// mapped to their names), values compared case-insensitively with insignificant spaces
/// removed (RFC 4518), hex escapes decoded, and multi-valued RDNs sorted. Values written in
/// hex (`#04…`) compare as bytes. Every naming attribute in common use (cn, ou, dc, o, uid,
/// l, st, c …) matches case-insensitively; that is the rule applied to all types.
public struct DistinguishedName: Sendable, Hashable, CustomStringConvertible, Comparable {
    public let rdns: [RelativeDistinguishedName]
    /// The canonical string used for comparison and as a lookup key.
    public let normalized: String

    public init(rdns: [RelativeDistinguishedName]) {
        self.rdns = rdns
        self.normalized = rdns.map(\.normalized).joined(separator: ",")
    }

    /// Parses a DN string (RFC 4514; `;` separators, quoted values and spaces around
    /// separators are accepted as older servers write them).
    public init(_ string: String) throws(DNParseError) {
        var parser = DNParser(string)
        self.init(rdns: try parser.parse())
    }

    /// The empty DN (the root DSE).
    public static let root = DistinguishedName(rdns: [])

    public var isRoot: Bool { rdns.isEmpty }

    /// The DN one level up, or nil for the root.
    public var parent: DistinguishedName? {
        rdns.isEmpty ? nil : DistinguishedName(rdns: Array(rdns.dropFirst()))
    }

    /// True when this DN equals `ancestor` or lies below it.
    public func isWithin(_ ancestor: DistinguishedName) -> Bool {
        guard rdns.count >= ancestor.rdns.count else { return false }
        return zip(rdns.suffix(ancestor.rdns.count), ancestor.rdns).allSatisfy { $0.normalized == $1.normalized }
    }

    /// The RFC 4514 string form, escaping what must be escaped.
    public var description: String { rdns.map(\.description).joined(separator: ",") }

    /// The value of the first RDN's first attribute, e.g. "Finance" for `cn=Finance,ou=groups,…`.
    public var leafValue: String? { rdns.first?.attributes.first?.value }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.normalized == rhs.normalized }
    public func hash(into hasher: inout Hasher) { hasher.combine(normalized) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.normalized < rhs.normalized }
}

/// One RDN: one or more attribute-value assertions joined by `+`.
public struct RelativeDistinguishedName: Sendable, Hashable, CustomStringConvertible {
    public let attributes: [AttributeTypeAndValue]
    public let normalized: String

    public init(_ attributes: [AttributeTypeAndValue]) {
        self.attributes = attributes
        self.normalized = attributes.map(\.normalized).sorted().joined(separator: "+")
    }

    public var description: String { attributes.map(\.description).joined(separator: "+") }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.normalized == rhs.normalized }
    public func hash(into hasher: inout Hasher) { hasher.combine(normalized) }
}

/// `type=value` inside an RDN.
public struct AttributeTypeAndValue: Sendable, Hashable, CustomStringConvertible {
    /// The type as written (e.g. "CN" or "2.5.4.3").
    public let type: String
    /// The value decoded to text; for a `#hex` value, the hex string as written.
    public let value: String
    /// The bytes of a value written as `#hex` (BER); nil for string values.
    public let binaryValue: [UInt8]?
    public let normalized: String

    public init(type: String, value: String) {
        self.type = type
        self.value = value
        self.binaryValue = nil
        self.normalized = normalizedType(type) + "=" + escapeDNValue(normalizedValue(value))
    }

    public init(type: String, binaryValue: [UInt8]) {
        self.type = type
        self.binaryValue = binaryValue
        let hex = "#" + binaryValue.map(hexByte).joined()
        self.value = hex
        self.normalized = normalizedType(type) + "=" + hex
    }

    public var description: String {
        binaryValue != nil ? "\(type)=\(value)" : "\(type)=\(escapeDNValue(value))"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.normalized == rhs.normalized }
    public func hash(into hasher: inout Hasher) { hasher.combine(normalized) }
}

/// Why a DN string could not be parsed, and where.
public struct DNParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var input: String
    /// Offset in UTF-8 bytes where the problem was found.
    public var offset: Int
    public var reason: String

    public var description: String { "invalid DN \"\(input)\" at offset \(offset): \(reason)" }
}

// MARK: Normalisation and escaping

let typeAliases: [String: String] = [
    "2.5.4.3": "cn", "2.5.4.4": "sn", "2.5.4.6": "c", "2.5.4.7": "l", "2.5.4.8": "st", "2.5.4.9": "street",
    "2.5.4.10": "o", "2.5.4.11": "ou", "2.5.4.12": "title", "2.5.4.42": "givenname",
    "0.9.2342.19200300.100.1.1": "uid", "0.9.2342.19200300.100.1.25": "dc",
    "commonname": "cn", "surname": "sn", "countryname": "c", "localityname": "l",
    "stateorprovincename": "st", "streetaddress": "street", "organizationname": "o",
    "organizationalunitname": "ou", "userid": "uid", "domaincomponent": "dc",
]

func normalizedType(_ type: String) -> String {
    var lower = type.lowercased()
    if lower.hasPrefix("oid.") { lower.removeFirst(4) }
    return typeAliases[lower] ?? lower
}

/// Case-folds and removes insignificant spaces (leading, trailing, and runs inside) as
/// RFC 4518's caseIgnoreMatch preparation does.
func normalizedValue(_ value: String) -> String {
    let utf8 = value.utf8
    if utf8.allSatisfy({ $0 < 0x80 }) {
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var pendingSpace = false
        for byte in utf8 {
            if byte == 0x20 {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(0x20); pendingSpace = false }
            out.append(asciiLower(byte))
        }
        return String(decoding: out, as: UTF8.self)
    }
    let folded = value.lowercased()
    return folded.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
}

/// Escapes a value for the string form of a DN (RFC 4514 §2.4).
func escapeDNValue(_ value: String) -> String {
    let bytes = Array(value.utf8)
    var out = ""
    out.reserveCapacity(bytes.count + 4)
    for (index, byte) in bytes.enumerated() {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\\"), UInt8(ascii: "="):
            out += "\\" + String(UnicodeScalar(byte))
        case 0:
            out += "\\00"
        case UInt8(ascii: " ") where index == 0 || index == bytes.count - 1:
            out += "\\ "
        case UInt8(ascii: "#") where index == 0:
            out += "\\#"
        default:
            if byte < 0x80 {
                out.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                // Copy the whole UTF-8 sequence at once; continuation bytes are skipped below.
                if byte >= 0xC0 {
                    var end = index + 1
                    while end < bytes.count && bytes[end] & 0xC0 == 0x80 { end += 1 }
                    out += String(decoding: bytes[index..<end], as: UTF8.self)
                }
            }
        }
    }
    return out
}
