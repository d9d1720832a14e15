import LDAPClient
import Synchronization
import SyncConfig
import SyncCore
import SyncStore

/// Reading users without fetching the entries of those that did not change.
///
/// The users are searched for their id, username and change marker (`entryCSN`) only; a user
/// whose marker, DN and username are those stored at the last run has the stored attributes
/// too, and is added by its stored digest (``SnapshotBuilder/addUnchangedUser(_:digest:)``).
/// Only the others are fetched whole. Markers are stored with the attribute mapping's scope
/// (``AttributeMapping/markerScope``), so after a mapping change every user is read whole.
extension DirectoryReader {
    /// The stored state (`prior`) is read while the server answers: headers that arrive
    /// before it are kept and compared once it is there, the rest as they arrive (between
    /// pages, while the server prepares the next). It is returned for the groups. A store
    /// without user markers (the first run after an upgrade) has every user read whole by a
    /// second search. Returns nil, having added nothing, when the first user has no change
    /// marker (a server without `entryCSN`, or `change_marker` naming an attribute users
    /// lack): the caller reads every user whole, without a header pass run for nothing.
    /// `allUnchanged`: every stored user, and no other, was read as an unchanged header.
    func readUsersSkippingUnchanged(
        _ session: LDAPSession, into builder: inout SnapshotBuilder, prior priorSource: @escaping PriorSource, counter: inout EntryCounter
    ) async throws -> (prior: Store.PriorState, allUnchanged: Bool)? {
        let mapping = builder.mapping
        let markerAttribute = mapping.changeMarker ?? ""
        let suffix = builder.markerSuffix
        let started = ContinuousClock.now
        let arrived = PriorArrival()
        let waiter = Task {
            let prior = try await priorSource()
            arrived.set(prior)
            return prior
        }
        var waiting: [Header] = []
        var prior: Store.PriorState?
        var changed = Set<String>()
        var headers = 0
        func compare(_ user: Header, with prior: Store.PriorState) throws {
            if let marker = user.marker, prior.userMarkers[user.id] == marker, let digest = prior.userDigests[user.id], digest != 0,
               prior.users[user.id] == DirectoryUser(id: user.id, dn: user.dn, username: user.username).resolutionDigest {
                try builder.addUnchangedUser(id: user.id, dn: user.dn, username: user.username, digest: digest)
            } else {
                changed.insert(user.id)
            }
        }
        do {
            try await each(directory.users, attributes: mapping.userHeaderAttributes, phase: "users", in: session, counter: &counter) { entry in
                let marker = SnapshotBuilder.markerHash(of: entry, attribute: markerAttribute, suffix: suffix)
                if marker == nil && headers == 0 { throw FirstEntryHasNoMarker() }
                let user = Header(id: try SnapshotBuilder.stableID(of: entry, in: mapping), dn: entry.dn, username: entry.string(mapping.username), marker: marker)
                headers += 1
                if let prior {
                    try compare(user, with: prior)
                    return
                }
                waiting.append(user)
                if waiting.count % 1000 == 0, let state = arrived.value {
                    prior = state
                    for user in waiting { try compare(user, with: state) }
                    waiting = []
                }
            }
        } catch is FirstEntryHasNoMarker {
            _ = await waiter.result
            logger.debug("users read whole: the first has no change marker", metadata: ["attribute": "\(markerAttribute)"])
            return nil
        } catch {
            _ = await waiter.result
            throw error
        }
        let searched = ContinuousClock.now
        let state = try await waiter.value
        let stored = ContinuousClock.now
        for user in waiting { try compare(user, with: state) }
        // The users fetched whole were counted as headers already.
        var recount = EntryCounter(progress: nil)
        var fetched = 0
        if changed.count > max(200, headers / 5) {
            // Many moved: one search of every user is cheaper than searching for each by id.
            try await each(directory.users, attributes: mapping.userAttributes, phase: "users", in: session, counter: &recount) {
                guard changed.contains(try builder.id(of: $0)) else { return }
                try builder.addUser($0)
                fetched += 1
            }
        } else {
            // The moved users by id, a few hundred per search.
            let ids = Array(changed)
            for start in stride(from: 0, to: ids.count, by: 200) {
                let chunk = ids[start..<min(start + 200, ids.count)]
                let filter = LDAPFilter.and([
                    .raw(directory.users.filter), .or(chunk.map { SnapshotBuilder.idFilter($0, mapping: mapping) }),
                ]).render()
                let search = SearchConfig(base: directory.users.base, scope: directory.users.scope, filter: filter)
                try await each(search, attributes: mapping.userAttributes, phase: "users", in: session, counter: &recount) {
                    guard changed.contains(try builder.id(of: $0)) else { return }
                    try builder.addUser($0)
                    fetched += 1
                }
            }
        }
        guard fetched == changed.count else {
            throw InquireError(directory: directory.name, message: "the users changed while they were being read; run the sync again")
        }
        logger.debug("users read", metadata: [
            "unchanged": "\(headers - changed.count)", "fetched": "\(changed.count)", "took": "\(ContinuousClock.now - started)",
            "headers took": "\(searched - started)", "waited for the store": "\(stored - searched)",
        ])
        // Each unchanged header is a stored user (its stored digest was found): as many as
        // the store holds, and none read whole, is the same set of users.
        return (state, changed.isEmpty && headers == state.userDigests.count)
    }
}

/// A user's header: what tells whether it changed.
private struct Header {
    var id: String
    var dn: String
    var username: String?
    var marker: UInt64?
}

/// The stored state once it has been read, for the search's entry handler to look at.
private final class PriorArrival: Sendable {
    private let state = Mutex<Store.PriorState?>(nil)

    var value: Store.PriorState? { state.withLock { $0 } }
    func set(_ prior: Store.PriorState) { state.withLock { $0 = prior } }
}
