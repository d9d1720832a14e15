/// An RFC 4515 search filter, built from parts so that values from users can never
/// change its meaning: every assertion value is escaped when the filter is rendered.
///
/// ```swift
/// let filter: LDAPFilter = .and([.equal("objectClass", "inetOrgPerson"), .equal("mail", input)])
/// filter.description   // (&(objectClass=inetOrgPerson)(mail=a\2a\29\28uid=\2a))
/// ```
public indirect enum LDAPFilter: Sendable, Hashable, CustomStringConvertible {
    case and([LDAPFilter])
    case or([LDAPFilter])
    case not(LDAPFilter)
    case equal(String, String)
    /// Equality with a binary value (AD's `objectGUID`): every byte written as `\XX`.
    case equalBytes(String, [UInt8])
    case greaterOrEqual(String, String)
    case lessOrEqual(String, String)
    case approximately(String, String)
    case present(String)
    /// `initial*any*any*final`; each part is escaped, the stars between them are not.
    case substring(String, initial: String?, any: [String], final: String?)
    /// `attr:dn:rule:=value` (e.g. AD's in-chain rule 1.2.840.113556.1.4.1941).
    case extensible(attribute: String?, dnAttributes: Bool, rule: String?, value: String)
    /// A filter given as text by a trusted source (the configuration). Rendered as is.
    case raw(String)

    /// Matches everything.
    public static let all: LDAPFilter = .present("objectClass")

    public var description: String { render() }

    public func render() -> String {
        switch self {
        case .and(let parts): "(&" + parts.map { $0.render() }.joined() + ")"
        case .or(let parts): "(|" + parts.map { $0.render() }.joined() + ")"
        case .not(let part): "(!" + part.render() + ")"
        case .equal(let attribute, let value): "(\(attribute)=\(Self.escape(value)))"
        case .equalBytes(let attribute, let bytes):
            "(\(attribute)=" + bytes.map { "\\" + ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + ")"
        case .greaterOrEqual(let attribute, let value): "(\(attribute)>=\(Self.escape(value)))"
        case .lessOrEqual(let attribute, let value): "(\(attribute)<=\(Self.escape(value)))"
        case .approximately(let attribute, let value): "(\(attribute)~=\(Self.escape(value)))"
        case .present(let attribute): "(\(attribute)=*)"
        case .substring(let attribute, let initial, let any, let final):
            "(\(attribute)=" + (initial.map(Self.escape) ?? "") + "*"
                + any.map { Self.escape($0) + "*" }.joined() + (final.map(Self.escape) ?? "") + ")"
        case .extensible(let attribute, let dnAttributes, let rule, let value):
            "(" + (attribute ?? "") + (dnAttributes ? ":dn" : "") + (rule.map { ":" + $0 } ?? "")
                + ":=" + Self.escape(value) + ")"
        case .raw(let text): text.hasPrefix("(") ? text : "(\(text))"
        }
    }

    /// Escapes an assertion value (RFC 4515 §3): `*`, `(`, `)`, `\`, NUL, and every byte
    /// outside printable ASCII become `\XX`, so the value can only ever match as a value.
    public static func escape(_ value: String) -> String {
        escape(bytes: Array(value.utf8))
    }

    /// Escapes a binary assertion value, e.g. an objectGUID.
    public static func escape(bytes: [UInt8]) -> String {
        var out = ""
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "*"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"), 0, 0x80...0xFF, 0x01...0x1F, 0x7F:
                out += "\\" + hexByte(byte)
            default:
                out.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return out
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

func hexByte(_ byte: UInt8) -> String {
    String(decoding: [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]], as: UTF8.self)
}
