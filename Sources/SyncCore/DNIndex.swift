import LDAPClient

/// Normalised DN → index, for resolving member values without creating a String per value:
/// the normalised bytes go into the caller's reused buffer and are looked up by a ``StableHash``,
/// then compared byte for byte, so a hash collision can never resolve to the wrong object.
struct DNIndex {
    /// Open addressing: a power-of-two table of positions into `keys` (−1 = empty), probed
    /// linearly from the key's hash. No per-lookup `Hasher`; at most half full.
    private var table: [Int32] = Array(repeating: -1, count: 64)
    private var hashes: [UInt64] = []
    private var keys: [[UInt8]] = []
    private var indices: [Int32] = []

    mutating func reserveCapacity(_ count: Int) {
        keys.reserveCapacity(count)
        hashes.reserveCapacity(count)
        indices.reserveCapacity(count)
        if table.count < count * 2 { rehash(capacity: count * 2) }
    }

    /// Adds an already normalised key for `index`.
    mutating func insert(normalized key: [UInt8], index: Int32) {
        if (keys.count + 1) * 2 > table.count { rehash(capacity: table.count * 2) }
        let hash = StableHash.of(key)
        keys.append(key)
        hashes.append(hash)
        indices.append(index)
        place(Int32(keys.count - 1), hash: hash)
    }

    /// The index of the object whose DN normalises like `value`, or nil. `normalized` tells
    /// whether the value parses as a DN; `scratch` (the caller's, reused) then holds its
    /// normalised form. The index is only read: several threads may look up at once, each
    /// with a buffer of its own.
    func lookup(_ value: ArraySlice<UInt8>, scratch: inout [UInt8], normalized: inout Bool) -> Int32? {
        normalized = DistinguishedName.normalize(value, into: &scratch)
        guard normalized else { return nil }
        return lookup(normalized: scratch)
    }

    /// The index of the object whose normalised DN is `key`, or nil.
    func lookup(normalized key: [UInt8]) -> Int32? {
        guard !keys.isEmpty else { return nil }
        let hash = StableHash.of(key)
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let position = table[slot]
            if position < 0 { return nil }
            if hashes[Int(position)] == hash && keys[Int(position)] == key { return indices[Int(position)] }
            slot = (slot + 1) & mask
        }
    }

    private mutating func place(_ position: Int32, hash: UInt64) {
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while table[slot] >= 0 { slot = (slot + 1) & mask }
        table[slot] = position
    }

    private mutating func rehash(capacity: Int) {
        var size = 64
        while size < capacity { size *= 2 }
        table = Array(repeating: -1, count: size)
        for position in hashes.indices { place(Int32(position), hash: hashes[position]) }
    }
}
