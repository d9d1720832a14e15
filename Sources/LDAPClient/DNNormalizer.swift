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
        // The normalised form is never longer than the input: write it through a pointer
        // into a buffer of that size, then cut it to length.
        if buffer.count < bytes.count {
            // Grows within the capacity kept from earlier calls: no allocation once warm.
            buffer.append(contentsOf: repeatElement(0, count: bytes.count - buffer.count))
        }
        let length = bytes.withUnsafeBufferPointer { input in
            buffer.withUnsafeMutableBufferPointer { output in fastNormalize(input, into: output) }
        }
        if let length {
            buffer.removeSubrange(length...)
            return true
        }
        guard let slow = try? DistinguishedName(String(decoding: bytes, as: UTF8.self)).normalized else { return false }
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: slow.utf8)
        return true
    }

    /// Returns the length written, or nil when the DN needs the full parser.
    private static func fastNormalize(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>) -> Int? {
        var count = 0
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
                guard inType, count > typeStart else { return nil }
                // Types that start with a digit (OIDs) or have aliases go the slow way.
                let first = out[typeStart]
                if first >= 0x30 && first <= 0x39 { return nil }
                // Long type names may be aliases (commonName → cn); the usual short ones are not.
                if count - typeStart >= 6,
                    typeAliases[String(decoding: UnsafeBufferPointer(rebasing: out[typeStart..<count]), as: UTF8.self)] != nil
                {
                    return nil
                }
                out[count] = byte
                count += 1
                inType = false
                pendingSpace = false
                valueStarted = false
            case UInt8(ascii: ","):
                guard !inType, valueStarted else { return nil }
                out[count] = byte
                count += 1
                inType = true
                typeStart = count
                pendingSpace = false
            case UInt8(ascii: " "):
                if !inType && valueStarted { pendingSpace = true }
                if inType && count > typeStart { return nil }
            default:
                if inType {
                    guard (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-") else {
                        return nil
                    }
                } else {
                    if pendingSpace {
                        out[count] = 0x20
                        count += 1
                        pendingSpace = false
                    }
                    valueStarted = true
                }
                out[count] = asciiLower(byte)
                count += 1
            }
        }
        if count == 0 { return 0 }
        return !inType && valueStarted ? count : nil
    }
}
