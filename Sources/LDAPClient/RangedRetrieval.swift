/// Active Directory's ranged retrieval of large multi-valued attributes: a DC returns at
/// most `MaxValRange` (1,500) values of `member` per request, as `member;range=0-1499`, and
/// the rest must be asked for range by range until a range ending in `*` arrives.
public struct AttributeRange: Sendable, Hashable {
    /// The attribute without its range option (`member`).
    public var attribute: String
    public var low: Int
    /// Nil for `*`: the last range.
    public var high: Int?

    /// Parses `member;range=0-1499` or `member;range=1500-*`; nil for other names.
    public init?(_ name: String) {
        guard let semicolon = name.firstIndex(of: ";") else { return nil }
        let option = name[name.index(after: semicolon)...]
        guard option.lowercased().hasPrefix("range=") else { return nil }
        let bounds = option.dropFirst("range=".count).split(separator: "-", maxSplits: 1)
        guard bounds.count == 2, let low = Int(bounds[0]) else { return nil }
        attribute = String(name[..<semicolon])
        self.low = low
        if bounds[1] == "*" { high = nil } else if let high = Int(bounds[1]) { self.high = high } else { return nil }
    }
}

extension LDAPEntry {
    /// The ranged attributes of this entry (those a DC cut short), by attribute name.
    public var rangedAttributes: [AttributeRange] {
        attributes.compactMap { AttributeRange($0.name) }
    }
}

extension LDAPSession {
    /// Reads every value of `attribute` of the entry `dn`, `step` values per request
    /// (`attribute;range=low-high`), starting at `low`. Throws when the server answers a
    /// range with a gap or not at all.
    public func readRanged(dn: String, attribute: String, from low: Int = 0, step: Int = 1500) async throws -> [[UInt8]] {
        var values: [[UInt8]] = []
        var next = low
        while true {
            let requested = "\(attribute);range=\(next)-\(next + step - 1)"
            let result = try searchAll(LDAPSearchRequest(base: dn, scope: .base, filter: "(objectClass=*)", attributes: [requested], pageSize: nil))
            guard let entry = result.entries.first else {
                throw LDAPError(operation: "ranged read of \(attribute) of \(dn)", code: .noSuchObject, diagnosticMessage: "the entry went away")
            }
            guard let ranged = entry.attributes.first(where: { AttributeRange($0.name)?.attribute.lowercased() == attribute.lowercased() }),
                  let range = AttributeRange(ranged.name)
            else {
                // No range in the answer: the server sent every remaining value plainly (or none).
                values += entry[attribute]
                return values
            }
            guard range.low == next else {
                throw LDAPError(
                    operation: "ranged read of \(attribute) of \(dn)", code: .other,
                    diagnosticMessage: "asked for values from \(next), the server answered from \(range.low)")
            }
            values += ranged.values
            guard let high = range.high else { return values }
            next = high + 1
        }
    }
}
