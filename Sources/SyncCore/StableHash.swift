/// FNV-1a over bytes with a SplitMix64 finaliser: stable across processes and versions
/// (unlike `Hasher`, which is seeded per process), so its values can be stored. The member
/// and user digests and the member DN index are built on it.
public struct StableHash {
    private var state: UInt64 = 0xCBF2_9CE4_8422_2325

    @inline(__always)
    mutating func add(_ byte: UInt8) {
        state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    @inline(__always)
    mutating func add(_ string: String) {
        for byte in string.utf8 { add(byte) }
    }

    @inline(__always)
    mutating func add(_ bytes: [UInt8]) {
        for byte in bytes { add(byte) }
    }

    /// A field of a digest: its bytes (nil as 0x01), then the separator 0x1F.
    @inline(__always)
    mutating func addField(_ field: String?) {
        if let field { add(field) } else { add(0x01) }
        add(0x1F)
    }

    var value: UInt64 {
        var hash = state
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        return hash ^ (hash >> 31)
    }
}

extension StableHash {
    /// The stable hash of some bytes: what an incremental run compares a member value's
    /// normalised DN with the stored member's DN key by (``MemberDelta``).
    public static func of(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash = StableHash()
        for byte in bytes { hash.add(byte) }
        return hash.value
    }

    public static func of(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBufferPointer { of($0) } }

    /// The same as ``of(_:)-(UnsafeBufferPointer<UInt8>)`` over the text's UTF-8 bytes.
    public static func of(_ text: String) -> UInt64 {
        var hash = StableHash()
        hash.add(text)
        return hash.value
    }

    /// The hash of `bytes` followed by `suffix`'s UTF-8: equal to ``of(_:)-(String)`` of the
    /// two joined, without joining them (a change marker read in place, with its scope).
    public static func of(_ bytes: ArraySlice<UInt8>, then suffix: String) -> UInt64 {
        var hash = StableHash()
        for byte in bytes { hash.add(byte) }
        hash.add(suffix)
        return hash.value
    }

    /// The stable hash of a text, as 16 hex digits (a configuration's digest).
    public static func hex(_ text: String) -> String {
        var hash = StableHash()
        hash.add(text)
        let hex = String(hash.value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
