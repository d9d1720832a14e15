import LDAPClient
import SyncConfig
import SyncCore
import SyncStore

/// Reading groups without fetching the members of those that did not change.
///
/// A group whose change marker (`entryCSN`) is the one stored at the last run has the same
/// member values; if, besides, no user or group was added, removed, moved or renamed, those
/// values resolve to the same members. Such a group keeps its stored member digest and its
/// members stay unloaded. Any doubt, and the caller reads every group in full.
extension DirectoryReader {
    /// True when the same users exist with the same DN and username: member values then
    /// resolve as they did at the last run.
    /// Users added as headers were checked against their stored DN and username already.
    static func usersUnchanged(_ builder: SnapshotBuilder, since prior: Store.PriorState) -> Bool {
        guard builder.userCount == prior.users.count else { return false }
        for (id, user) in builder.users {
            guard let before = prior.users[id], before == user.resolutionDigest else { return false }
        }
        return true
    }

    /// Reads the groups without members, then fetches members only of groups whose marker
    /// moved. Returns false, having added nothing, when any group was added, removed or
    /// renamed since the last run, or when the first group has no change marker (a server
    /// without `entryCSN`, or `change_marker` naming an attribute groups lack: the header
    /// pass stops there rather than run for nothing): the caller then reads every group in full.
    func readGroupsSkippingUnchanged(
        _ session: LDAPSession, into builder: inout SnapshotBuilder, prior: Store.PriorState, counter: inout EntryCounter
    ) async throws -> Bool {
        guard let markerAttribute = builder.mapping.changeMarker else { return false }
        var headers: [LDAPEntry] = []
        do {
            try await each(directory.groups, attributes: builder.mapping.groupHeaderAttributes, phase: "groups", in: session, counter: &counter) {
                if headers.isEmpty && builder.marker(of: $0) == nil { throw FirstEntryHasNoMarker() }
                headers.append($0)
            }
        } catch is FirstEntryHasNoMarker {
            logger.debug("groups read whole: the first has no change marker", metadata: ["attribute": "\(markerAttribute)"])
            return false
        }
        var unchanged: [(LDAPEntry, MemberDigest)] = []
        var changed: [String: LDAPEntry] = [:]
        for entry in headers {
            let id = try builder.id(of: entry)
            guard let before = prior.groups[id], before.dn == entry.dn else { return false }
            if let marker = builder.marker(of: entry), marker == before.marker, let digest = before.digest {
                unchanged.append((entry, digest))
            } else {
                changed[id] = entry
            }
        }
        guard headers.count == prior.groups.count else { return false }

        for (entry, digest) in unchanged { try builder.addUnchangedGroup(entry, digest: digest) }
        var ranged: [LDAPEntry] = []
        if changed.count > max(200, headers.count / 5) {
            // Many moved: one full search is cheaper than searching for each by id.
            var fetched = 0
            var batch = GroupBatch()
            try await each(directory.groups, attributes: builder.mapping.groupAttributes, phase: "groups", in: session, counter: &counter) {
                if changed[try builder.id(of: $0)] != nil {
                    try addGroup($0, to: &builder, batch: &batch, ranged: &ranged)
                    fetched += 1
                }
            }
            try batch.flush(into: &builder)
            guard fetched == changed.count else { throw changedDuringRun() }
        } else {
            // Fetch the moved groups by id, a few hundred per search: one round trip per
            // group costs more than the transfer when a thousand moved.
            let ids = Array(changed.keys)
            var fetched = 0
            for start in stride(from: 0, to: ids.count, by: 200) {
                let chunk = ids[start..<min(start + 200, ids.count)]
                let filter = LDAPFilter.and([
                    .raw(directory.groups.filter), .or(chunk.map { SnapshotBuilder.idFilter($0, mapping: builder.mapping) }),
                ]).render()
                let search = SearchConfig(base: directory.groups.base, scope: directory.groups.scope, filter: filter)
                try await each(search, attributes: builder.mapping.groupAttributes, phase: "groups", in: session, counter: &counter) {
                    guard changed[try builder.id(of: $0)] != nil else { return }
                    try addGroup($0, to: &builder, ranged: &ranged)
                    fetched += 1
                }
            }
            guard fetched == changed.count else { throw changedDuringRun() }
        }
        try await addRangedGroups(ranged, into: &builder, session: session)
        logger.debug("groups read", metadata: ["unchanged": "\(unchanged.count)", "fetched": "\(changed.count)"])
        return true
    }

    private func changedDuringRun() -> InquireError {
        InquireError(directory: directory.name, message: "the groups changed while they were being read; run the sync again")
    }
}
