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

    /// Takes a member out again: a digest updated by a change equals the digest of the new
    /// member set, without that set.
    public mutating func remove(_ member: MemberRef) {
        sum &-= member.stableHash
        xor ^= member.stableHash
        count -= 1
    }

    /// A stable hash of the kind and the id (``StableHash``).
    static func hash(kind: MemberRef.Kind, id: String) -> UInt64 {
        var hash = StableHash()
        hash.add(kind == .user ? 0x75 : 0x67)
        hash.add(id)
        return hash.value
    }
}
