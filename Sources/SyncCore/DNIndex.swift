import LDAPClient

/// Normalised DN → index, for resolving member values without creating a String per value:
/// the normalised bytes go into a reused buffer and are looked up by a 64-bit FNV-1a hash,
/// then compared byte for byte, so a hash collision can never resolve to the wrong object.
struct DNIndex {
    private var slots: [UInt64: [Int32]] = [:]
    private var keys: [[UInt8]] = []
    private var buffer: [UInt8] = []

    /// Adds an already normalised key for `index`.
    mutating func insert(normalized key: [UInt8], index: Int32) {
        slots[Self.hash(key), default: []].append(Int32(keys.count))
        keys.append(key)
        indices.append(index)
    }

    private var indices: [Int32] = []

    /// The index of the object whose DN normalises like `value`, or nil. `normalized` is
    /// set to the normalised bytes (empty when the value does not parse as a DN).
    mutating func lookup(_ value: ArraySlice<UInt8>, normalized: inout Bool) -> Int32? {
        normalized = DistinguishedName.normalize(value, into: &buffer)
        guard normalized, let candidates = slots[Self.hash(buffer)] else { return nil }
        for candidate in candidates where keys[Int(candidate)] == buffer {
            return indices[Int(candidate)]
        }
        return nil
    }

    /// The normalised form of the last value looked up.
    var lastNormalized: String { String(decoding: buffer, as: UTF8.self) }

    static func hash(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }
}
