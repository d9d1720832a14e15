/// A fingerprint of a group's direct members that does not depend on their order: two
/// 64-bit combinations (wrapping sum and xor) of a stable hash of each member. Stored with
/// each group, it lets a re-sync skip every group whose members did not change without
/// reading those members back from the store.
public struct MemberDigest: Sendable, Hashable, Codable {
    public var sum: UInt64
    public var xor: UInt64
    public var count: Int

    public init(sum: UInt64 = 0, xor: UInt64 = 0, count: Int = 0) {
        self.sum = sum
        self.xor = xor
        self.count = count
    }

    public init(_ members: Set<MemberRef>) {
        self.init()
        for member in members { add(member) }
    }

    public mutating func add(_ member: MemberRef) {
        sum &+= member.stableHash
        xor ^= member.stableHash
        count += 1
    }

    /// FNV-1a over the kind and the id, then a SplitMix64 finaliser: stable across
    /// processes and versions (unlike `Hasher`, which is seeded per process).
    static func hash(kind: MemberRef.Kind, id: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        hash = (hash ^ (kind == .user ? 0x75 : 0x67)) &* 0x0000_0100_0000_01B3
        for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        return hash ^ (hash >> 31)
    }
}
