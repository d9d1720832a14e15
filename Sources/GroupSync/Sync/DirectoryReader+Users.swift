import LDAPClient
import SyncCore
import SyncStore

/// Reading users without fetching in full those that did not change.
///
/// A user whose change marker (`entryCSN`) is the one stored at the last run has the same
/// attributes (a move or rename changes it too). The first search asks only for the id,
/// the username and the marker: enough to resolve member values. Users whose marker moved,
/// and new users, are then fetched in full by id.
extension DirectoryReader {
    /// Returns false, having added nothing, when the store holds no markers to compare with.
    func readUsersSkippingUnchanged(
        _ session: LDAPSession, into builder: inout SnapshotBuilder, prior: Store.PriorState, counter: inout EntryCounter
    ) async throws -> Bool {
        guard let markerAttribute = builder.mapping.changeMarker, !prior.userMarkers.isEmpty else { return false }
        var changed = Set<String>()
        try await each(directory.users, attributes: builder.mapping.userHeaderAttributes, phase: "users", in: session, counter: &counter) {
            let id = try builder.id(of: $0)
            if let marker = $0.string(markerAttribute), prior.userMarkers[id] == marker {
                try builder.addUnchangedUser($0)
            } else {
                changed.insert(id)
            }
        }
        guard !changed.isEmpty else { return true }
        var fetched = 0
        if changed.count > max(200, (builder.userCount + changed.count) / 5) {
            // Many changed: one full search is cheaper than searching for each by id.
            try await each(directory.users, attributes: builder.mapping.userAttributes, phase: "users", in: session, counter: &counter) {
                guard changed.contains(try builder.id(of: $0)) else { return }
                try builder.addUser($0)
                fetched += 1
            }
        } else {
            let ids = Array(changed)
            for start in stride(from: 0, to: ids.count, by: 200) {
                let chunk = ids[start..<min(start + 200, ids.count)]
                let filter = LDAPFilter.and([.raw(directory.users.filter), .or(chunk.map { .equal(builder.mapping.id, $0) })]).render()
                let search = SearchConfig(base: directory.users.base, scope: directory.users.scope, filter: filter)
                try await each(search, attributes: builder.mapping.userAttributes, phase: "users", in: session, counter: &counter) {
                    guard changed.contains(try builder.id(of: $0)) else { return }
                    try builder.addUser($0)
                    fetched += 1
                }
            }
        }
        guard fetched == changed.count else {
            throw InquireError(directory: directory.name, message: "the users changed while they were being read; run the sync again")
        }
        logger.debug("users read", metadata: ["unchanged": "\(builder.userCount - fetched)", "fetched": "\(fetched)"])
        return true
    }
}
