extension DistinguishedName {
    /// The ``normalized`` form of a DN given as bytes, without building the parsed value:
    /// one pass and one allocation for the common shape (`uid=jdoe,ou=people,dc=example,dc=com`:
    /// ASCII, no escapes, one attribute per RDN). Anything else takes the full parser, so the
    /// result always equals `try DistinguishedName(string).normalized`. Nil when it does not parse.
    ///
    /// The sync calls this for every `member` value, a million times on a large directory.
    public static func normalizedKey(_ bytes: ArraySlice<UInt8>) -> String? {
        let fast = bytes.withUnsafeBufferPointer { fastNormalized($0) }
        if let fast { return fast }
        return try? DistinguishedName(String(decoding: bytes, as: UTF8.self)).normalized
    }

    /// ``normalizedKey(_:)-(ArraySlice<UInt8>)`` for a DN string.
    public static func normalizedKey(_ string: String) -> String? {
        var string = string
        let fast = string.withUTF8 { fastNormalized($0) }
        if let fast { return fast }
        return try? DistinguishedName(string).normalized
    }

    private static func fastNormalized(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var inType = true
        var typeStart = 0
        var pendingSpace = false
        var valueStarted = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "+"), UInt8(ascii: ";"), UInt8(ascii: "#"),
                UInt8(ascii: "<"), UInt8(ascii: ">"), 0..<0x20, 0x7F...0xFF:
                return nil
            case UInt8(ascii: "="):
                guard inType, out.count > typeStart else { return nil }
                // Types that start with a digit (OIDs) or have aliases go the slow way.
                let first = out[typeStart]
                if first >= 0x30 && first <= 0x39 { return nil }
                // Long type names may be aliases (commonName → cn); the usual short ones are not.
                if out.count - typeStart >= 6, typeAliases[String(decoding: out[typeStart...], as: UTF8.self)] != nil { return nil }
                out.append(byte)
                inType = false
                pendingSpace = false
                valueStarted = false
            case UInt8(ascii: ","):
                guard !inType, valueStarted else { return nil }
                out.append(byte)
                inType = true
                typeStart = out.count
                pendingSpace = false
            case UInt8(ascii: " "):
                if !inType && valueStarted { pendingSpace = true }
                if inType && out.count > typeStart { return nil }
            default:
                if inType {
                    guard (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-") else {
                        return nil
                    }
                    out.append(asciiLower(byte))
                } else {
                    if pendingSpace { out.append(0x20); pendingSpace = false }
                    out.append(asciiLower(byte))
                    valueStarted = true
                }
            }
        }
        guard !inType || out.isEmpty, out.isEmpty || valueStarted else { return out.isEmpty ? "" : nil }
        return String(decoding: out, as: UTF8.self)
    }
}
