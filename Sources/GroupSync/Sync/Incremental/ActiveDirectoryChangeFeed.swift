import Foundation
import LDAPClient
import Logging
import SyncConfig
import SyncCore
import SyncStore

/// What changed in Active Directory since a cookie: the ids (objectGUID) of users, groups
/// and containers that were added, modified, moved or deleted, from the DirSync control or,
/// for bind accounts without the replication right, from a `uSNChanged` window with the
/// show-deleted control. The feed says only *which* objects changed; the incremental reader
/// reads them again in the configured scope, so scope, filters and mapping stay the full
/// run's.
struct ActiveDirectoryChangeFeed: ChangeFeed {
    let directory: DirectoryConfig
    let mapping: AttributeMapping
    let logger: Logger

    /// Objects whose changes matter: users and groups, and the containers they live in.
    static let filter = "(|(objectClass=user)(objectClass=group)(objectClass=organizationalUnit)(objectClass=container))"

    /// The naming context the configured searches live in: DirSync works from its root.
    func namingContext(_ root: RootDSE) -> String? {
        let key = DNKey.of
        let bases = [key(directory.users.base), key(directory.groups.base)]
        let contexts = (root.namingContexts + [root.defaultNamingContext].compactMap { $0 })
            .filter { context in bases.allSatisfy { $0 == key(context) || $0.hasSuffix("," + key(context)) } }
        return contexts.max { $0.count < $1.count }
    }

    /// The feed's position now, taken before a full run reads anything: changes made while
    /// it reads are seen again by the next incremental run (reading them twice is harmless).
    func currentState(_ session: LDAPSession, root: RootDSE, fullRunAt: Date) async throws -> SyncState? {
        guard let context = namingContext(root) else {
            logger.notice("incremental runs off: users.base and groups.base are not in one naming context", metadata: ["directory": "\(directory.name)"])
            return nil
        }
        let methods: [IncrementalConfig.Method] = switch directory.incremental.method {
        case .auto: [.dirsync, .usn]
        case .off: []
        case let method: [method]
        }
        for method in methods {
            do {
                switch method {
                case .dirsync:
                    // A filter that matches nothing still returns the cookie of the present moment.
                    var cookie: [UInt8]?
                    var more = true
                    while more {
                        let response = try await dirSync(session, base: context, filter: "(objectGUID=\\00)", cookie: cookie, attributes: ["objectGUID"]).1
                        cookie = response.cookie
                        more = response.moreResults
                    }
                    return SyncState(
                        method: "dirsync", server: root.dsServiceName, cookie: cookie ?? [], containers: try await scopeContainers(session),
                        fullRunAt: fullRunAt)
                case .usn:
                    guard let usn = root.highestCommittedUSN else { throw noUSN() }
                    return SyncState(
                        method: "usn", server: root.dsServiceName, cookie: Array(String(usn).utf8), containers: try await scopeContainers(session),
                        fullRunAt: fullRunAt)
                case .auto, .off, .syncrepl:
                    continue
                }
            } catch let error as LDAPError where method == .dirsync && directory.incremental.method == .auto && Self.refused(error) {
                logger.notice("DirSync refused; incremental runs use uSNChanged windows", metadata: [
                    "directory": "\(directory.name)", "error": "\(error)",
                ])
            }
        }
        return nil
    }

    /// The ids of objects changed since `state`, and the state to save once they are applied.
    func changes(_ session: LDAPSession, root: RootDSE, since state: SyncState) async throws -> FeedChanges {
        guard let context = namingContext(root) else { throw InquireError(directory: directory.name, message: "the search bases left their naming context") }
        var changes = FeedChanges(state: state)
        changes.state.updatedAt = Date()
        switch state.method {
        case "dirsync":
            var cookie = state.cookie
            var more = true
            while more {
                let (entries, response) = try await dirSync(
                    session, base: context, filter: Self.filter, cookie: cookie,
                    attributes: mapping.userAttributes + mapping.groupAttributes + ["isDeleted", "objectClass", "name"])
                for entry in entries { try collect(entry, into: &changes) }
                cookie = response.cookie
                more = response.moreResults
            }
            changes.state.cookie = cookie
        case "usn":
            guard let last = Int64(String(decoding: state.cookie, as: UTF8.self)) else {
                throw CookieRejected(reason: "the stored uSNChanged position is not a number")
            }
            guard let now = root.highestCommittedUSN else { throw noUSN() }
            guard now >= last else { throw CookieRejected(reason: "the server's highestCommittedUSN (\(now)) is below the stored position (\(last))") }
            var request = LDAPSearchRequest(
                base: context, scope: .sub, filter: "(&\(Self.filter)(uSNChanged>=\(last + 1)))",
                attributes: ["objectGUID", "objectClass", "isDeleted"], pageSize: directory.pageSize)
            request.controls = [ShowDeleted.request]
            for try await event in session.search(request) {
                if case .entry(let entry) = event { try collect(entry, into: &changes) }
            }
            changes.state.cookie = Array(String(now).utf8)
        default:
            throw CookieRejected(reason: "the stored sync state uses \(state.method), which Active Directory does not offer")
        }
        return changes
    }

    private func collect(_ entry: LDAPEntry, into changes: inout FeedChanges) throws {
        guard let bytes = entry["objectGUID"].first, bytes.count == 16 else {
            throw InquireError(directory: directory.name, message: "a changed entry \"\(entry.dn)\" came without its objectGUID")
        }
        let deleted = entry.string("isDeleted")?.uppercased() == "TRUE"
        if !deleted && (ContainerClasses.isContainer(entry) || Self.isContainerDN(entry.dn)) {
            changes.containers.append((SnapshotBuilder.guidString(bytes), entry.dn))
        } else {
            changes.ids.insert(SnapshotBuilder.guidString(bytes))
        }
    }

    /// DirSync leaves out unchanged attributes, objectClass among them: an `OU=` or `CN=`
    /// container is told by its RDN when its class did not come.
    static func isContainerDN(_ dn: String) -> Bool {
        dn.lowercased().hasPrefix("ou=")
    }

    /// The objectGUIDs of the containers at and below the search bases.
    func scopeContainers(_ session: LDAPSession) async throws -> Set<String> {
        try await scopeContainers(session, idAttribute: "objectGUID") { entry in
            entry["objectGUID"].first.flatMap { $0.count == 16 ? SnapshotBuilder.guidString($0) : nil }
        }
    }

    /// One DirSync search: its entries and the response control.
    private func dirSync(
        _ session: LDAPSession, base: String, filter: String, cookie: [UInt8]?, attributes: [String]
    ) async throws -> ([LDAPEntry], DirSync.Response) {
        var request = LDAPSearchRequest(base: base, scope: .sub, filter: filter, attributes: attributes, pageSize: nil)
        request.controls = [DirSync.request(cookie: cookie)]
        let result = try await session.searchAll(request)
        guard let response = try DirSync.response(in: result.controls) else {
            throw InquireError(directory: directory.name, message: "the server answered a DirSync search without the DirSync response control")
        }
        return (result.entries, response)
    }

    /// Errors that mean "not for this account" rather than "broken".
    static func refused(_ error: LDAPError) -> Bool {
        [.insufficientAccessRights, .unavailableCriticalExtension, .unwillingToPerform].contains(error.code)
    }

    private func noUSN() -> InquireError {
        InquireError(directory: directory.name, message: "the root DSE has no highestCommittedUSN")
    }
}
