import Foundation
import LDAPClient
import Logging
import SyncConfig
import SyncCore
import SyncStore

/// What changed in OpenLDAP since a cookie, by RFC 4533 content synchronization in
/// refreshOnly mode against the `syncprov` overlay: one search over the users' and groups'
/// common base, asking only for entryUUID and objectClass. With a session log the provider
/// sends the changed entries and the deleted ids; without one (after a restart, or a
/// position older than the log) it sends every present id, and whatever the store holds
/// that is neither present nor changed is gone. A position is the suffix's contextCSN,
/// taken before a full run reads.
struct ContentSyncChangeFeed: ChangeFeed {
    let directory: DirectoryConfig
    let mapping: AttributeMapping
    let store: any SnapshotStore
    let logger: Logger

    /// The deepest entry above both search bases: one search sees users, groups and the
    /// containers between them.
    var searchBase: String {
        guard let users = try? DistinguishedName(directory.users.base), let groups = try? DistinguishedName(directory.groups.base) else {
            return directory.users.base
        }
        var common: [RelativeDistinguishedName] = []
        for (a, b) in zip(users.rdns.reversed(), groups.rdns.reversed()) {
            guard a == b else { break }
            common.append(a)
        }
        return DistinguishedName(rdns: common.reversed()).description
    }

    var filter: String { "(|\(LDAPFilter.raw(directory.users.filter).render())\(LDAPFilter.raw(directory.groups.filter).render())\(ContainerClasses.filter))" }

    func currentState(_ session: LDAPSession, root: RootDSE, fullRunAt: Date) async throws -> SyncState? {
        let key = DNKey.of
        let base = key(searchBase)
        guard let context = root.namingContexts.filter({ base == key($0) || base.hasSuffix("," + key($0)) }).max(by: { $0.count < $1.count }) else {
            logger.notice("incremental runs off: the search bases are in no naming context the server lists", metadata: ["directory": "\(directory.name)"])
            return nil
        }
        let result = try await session.searchAll(LDAPSearchRequest(base: context, scope: .base, attributes: ["contextCSN"], pageSize: nil))
        let csns = result.entries.first?.strings("contextCSN") ?? []
        guard !csns.isEmpty else {
            logger.notice("incremental runs off: \(context) has no contextCSN to start from", metadata: ["directory": "\(directory.name)"])
            return nil
        }
        let containers = try await scopeContainers(session, idAttribute: "entryUUID") { $0.string("entryUUID")?.lowercased() }
        return SyncState(
            method: "syncrepl", server: nil, cookie: Array("rid=000,csn=\(csns.joined(separator: ";"))".utf8), containers: containers,
            fullRunAt: fullRunAt)
    }

    func changes(_ session: LDAPSession, root: RootDSE, since state: SyncState) async throws -> FeedChanges {
        guard state.method == "syncrepl" else { throw CookieRejected(reason: "the stored position is for \(state.method), not content synchronization") }
        var request = LDAPSearchRequest(base: searchBase, scope: .sub, filter: filter, attributes: ["entryUUID", "objectClass"], pageSize: nil)
        request.controls = [ContentSync.request(mode: .refreshOnly, cookie: state.cookie)]
        var changed = Set<String>()
        var deleted = Set<String>()
        var present = Set<String>()
        var containers: [(id: String, dn: String)] = []
        var cookie = state.cookie
        var done: ContentSync.Done?
        for try await event in session.search(request) {
            switch event {
            case .entry(let entry):
                guard let syncState = try ContentSync.state(in: entry.controls) else {
                    throw CookieRejected(reason: "an entry came without its Sync State control")
                }
                switch syncState.kind {
                case .present: present.insert(syncState.uuid)
                case .delete: deleted.insert(syncState.uuid)
                case .add, .modify:
                    if ContainerClasses.isContainer(entry) { containers.append((syncState.uuid, entry.dn)) } else { changed.insert(syncState.uuid) }
                }
                if let next = syncState.cookie { cookie = next }
            case .intermediate(let message):
                switch try ContentSync.info(message) {
                case .newCookie(let next)?: cookie = next
                case .refreshDelete(let next, _)?, .refreshPresent(let next, _)?: if let next { cookie = next }
                case .idSet(let next, let refreshDeletes, let uuids)?:
                    if refreshDeletes { deleted.formUnion(uuids) } else { present.formUnion(uuids) }
                    if let next { cookie = next }
                case nil: break
                }
            case .done(let controls):
                done = try ContentSync.done(in: controls)
                if let next = done?.cookie { cookie = next }
            case .reference(let urls):
                throw InquireError(directory: directory.name, message: "the content synchronization search returned a reference to \(urls.joined(separator: ", "))")
            }
        }
        guard let done else { throw CookieRejected(reason: "the server ended the content synchronization without a Sync Done control") }
        if !done.refreshDeletes {
            // A present phase: what is neither present nor changed is gone.
            let stored = try store.allIDs(directory: directory.name)
            deleted.formUnion(stored.subtracting(present).subtracting(changed))
            for id in state.containers where !present.contains(id) && !containers.contains(where: { $0.id == id }) {
                containers.append((id, "(gone)"))
            }
        }
        for id in deleted where state.containers.contains(id) { containers.append((id, "(deleted)")) }
        var result = FeedChanges(state: state)
        result.ids = changed.union(deleted.subtracting(state.containers))
        result.containers = containers
        result.state.cookie = cookie
        result.state.updatedAt = Date()
        logger.debug("content synchronization", metadata: [
            "directory": "\(directory.name)", "changed": "\(changed.count)", "deleted": "\(deleted.count)", "present": "\(present.count)",
            "phase": "\(done.refreshDeletes ? "delete" : "present")",
        ])
        return result
    }
}
