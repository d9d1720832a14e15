import LDAPClient

/// Normalised DN → index, for resolving member values without creating a String per value:
/// the normalised bytes go into a reused buffer and are looked up by a 64-bit FNV-1a hash,
/// then compared byte for byte, so a hash collision can never resolve to the wrong object.
struct DNIndex {
    /// Hash → position in `keys` of the first key with that hash.
    private var first: [UInt64: Int32] = [:]
    /// Further keys with an already used hash (practically never).
    private var collisions: [UInt64: [Int32]] = [:]
    private var keys: [[UInt8]] = []
    private var indices: [Int32] = []
    private var buffer: [UInt8] = []

    mutating func reserveCapacity(_ count: Int) {
        first.reserveCapacity(count)
        keys.reserveCapacity(count)
        indices.reserveCapacity(count)
    }

    /// Adds an already normalised key for `index`.
    mutating func insert(normalized key: [UInt8], index: Int32) {
        let hash = Self.hash(key)
        let position = Int32(keys.count)
        keys.append(key)
        indices.append(index)
        if first[hash] == nil {
            first[hash] = position
        } else {
            collisions[hash, default: []].append(position)
        }
    }

    /// The index of the object whose DN normalises like `value`, or nil. `normalized` tells
    /// whether the value parses as a DN; ``lastNormalized`` then holds its normalised form.
    mutating func lookup(_ value: ArraySlice<UInt8>, normalized: inout Bool) -> Int32? {
        normalized = DistinguishedName.normalize(value, into: &buffer)
        guard normalized else { return nil }
        let hash = Self.hash(buffer)
        guard let position = first[hash] else { return nil }
        if keys[Int(position)] == buffer { return indices[Int(position)] }
        for other in collisions[hash] ?? [] where keys[Int(other)] == buffer {
            return indices[Int(other)]
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
