import SyncCore

/// What a digest-only header still needs before a plan, decided the same way whichever
/// store read it (``Store`` and the PostgreSQL store call these).
extension Snapshot {
    /// The users to read for a plan against `wanted`: those whose stored digest differs from
    /// the wanted user's, and those `wanted` lacks. Empty when the users are all loaded.
    /// A user `wanted` knows by digest only (read as a header) has the stored digest.
    public func usersToLoad(differingFrom wanted: Snapshot) -> [String] {
        guard partialUsers else { return [] }
        var needed: [String] = []
        if wanted.partialUsers {
            // A partial snapshot from ``SnapshotBuilder/finish()`` has every user's digest,
            // read whole or not: one lookup per stored user where there were two.
            for (id, digest) in userDigests where (wanted.userDigests[id] ?? wanted.users[id]?.stableDigest) != digest {
                needed.append(id)
            }
            return needed
        }
        for (id, digest) in userDigests where wanted.users[id]?.stableDigest != digest { needed.append(id) }
        return needed
    }

    /// Takes the members of unloaded groups from `wanted` where the digests agree (leaving
    /// them unloaded where `wanted` left them unloaded) and returns the groups whose members
    /// must be read from the store.
    public mutating func reuseMembers(of wanted: Snapshot?) -> Set<String> {
        var unread = Set<String>()
        for group in unloadedGroups {
            if let wanted, let digest = memberDigests[group], wanted.memberDigests[group] == digest {
                if !wanted.unloadedGroups.contains(group) {
                    members[group] = wanted.members[group]
                    unloadedGroups.remove(group)
                }
            } else {
                unread.insert(group)
            }
        }
        return unread
    }

    /// Fills in the groups read from the store (an empty member set is no entry).
    public mutating func fillMembers(_ loaded: [String: Set<MemberRef>], of groups: Set<String>) {
        for group in groups {
            members[group] = loaded[group].flatMap { $0.isEmpty ? nil : $0 }
            unloadedGroups.remove(group)
        }
    }
}
