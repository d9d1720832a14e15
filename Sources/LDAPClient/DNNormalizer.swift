extension DistinguishedName {
    /// The ``normalized`` form of a DN given as bytes, without building the parsed value:
    /// one pass for the common shape (`uid=jdoe,ou=people,dc=example,dc=com`: ASCII, no
    /// escapes, one attribute per RDN). Anything else takes the full parser, so the result
    /// always equals `try DistinguishedName(string).normalized`. Nil when it does not parse.
    public static func normalizedKey(_ bytes: ArraySlice<UInt8>) -> String? {
        var buffer: [UInt8] = []
        guard normalize(bytes, into: &buffer) else { return nil }
        return String(decoding: buffer, as: UTF8.self)
    }

    /// ``normalizedKey(_:)-(ArraySlice<UInt8>)`` for a DN string.
    public static func normalizedKey(_ string: String) -> String? {
        normalizedKey(Array(string.utf8)[...])
    }

    /// Writes the normalised form of a DN into `buffer` (replacing what it held) and returns
    /// true, or false when the DN does not parse. With a buffer reused across calls, the
    /// common shape allocates nothing: the sync calls this for every `member` value, a
    /// million times on a large directory.
    public static func normalize(_ bytes: ArraySlice<UInt8>, into buffer: inout [UInt8]) -> Bool {
        buffer.removeAll(keepingCapacity: true)
        let fast = bytes.withUnsafeBufferPointer { fastNormalize($0, into: &buffer) }
        if fast { return true }
        guard let slow = try? DistinguishedName(String(decoding: bytes, as: UTF8.self)).normalized else { return false }
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: slow.utf8)
        return true
    }

    private static func fastNormalize(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        var inType = true
        var typeStart = 0
        var pendingSpace = false
        var valueStarted = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "+"), UInt8(ascii: ";"), UInt8(ascii: "#"),
                UInt8(ascii: "<"), UInt8(ascii: ">"), 0..<0x20, 0x7F...0xFF:
                return false
            case UInt8(ascii: "="):
                guard inType, out.count > typeStart else { return false }
                // Types that start with a digit (OIDs) or have aliases go the slow way.
                let first = out[typeStart]
                if first >= 0x30 && first <= 0x39 { return false }
                // Long type names may be aliases (commonName → cn); the usual short ones are not.
                if out.count - typeStart >= 6, typeAliases[String(decoding: out[typeStart...], as: UTF8.self)] != nil { return false }
                out.append(byte)
                inType = false
                pendingSpace = false
                valueStarted = false
            case UInt8(ascii: ","):
                guard !inType, valueStarted else { return false }
                out.append(byte)
                inType = true
                typeStart = out.count
                pendingSpace = false
            case UInt8(ascii: " "):
                if !inType && valueStarted { pendingSpace = true }
                if inType && out.count > typeStart { return false }
            default:
                if inType {
                    guard (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-") else {
                        return false
                    }
                    out.append(asciiLower(byte))
                } else {
                    if pendingSpace { out.append(0x20); pendingSpace = false }
                    out.append(asciiLower(byte))
                    valueStarted = true
                }
            }
        }
        if out.isEmpty { return true }
        return !inType && valueStarted
    }
}
