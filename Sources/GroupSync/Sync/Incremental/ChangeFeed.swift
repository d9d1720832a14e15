import Foundation
import LDAPClient
import Logging
import SyncConfig
import SyncCore
import SyncStore

/// A source of "what changed since position P": Active Directory's DirSync or uSNChanged
/// windows, OpenLDAP's RFC 4533 content synchronization. A feed names changed objects by
/// stable id; the incremental reader reads them again in scope.
protocol ChangeFeed: Sendable {
    var directory: DirectoryConfig { get }
    /// The feed's position now, taken before a full run reads anything, or nil when this
    /// server or account offers no feed.
    func currentState(_ session: LDAPSession, root: RootDSE, fullRunAt: Date) async throws -> SyncState?
    /// What changed since `state`, and the position to save once it is applied.
    func changes(_ session: LDAPSession, root: RootDSE, since state: SyncState) async throws -> FeedChanges
}

/// What a feed found: changed users and groups (added, modified, moved, deleted) by id, and
/// containers that changed — a renamed or moved OU changes the DN of everything below it
/// without those objects changing, so the run must be full when one in scope did.
struct FeedChanges {
    var ids: Set<String> = []
    var containers: [(id: String, dn: String)] = []
    var state: SyncState
}

/// A stored feed position that cannot be used: the run is made full, never failed.
struct CookieRejected: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

enum ChangeFeeds {
    /// The feed for a directory as its server answers, nil when there is none (incremental
    /// runs off, a custom id attribute the feed cannot name objects by).
    static func feed(
        for directory: DirectoryConfig, flavour: DirectoryFlavour, root: RootDSE, store: any SnapshotStore, logger: Logger
    ) -> (any ChangeFeed)? {
        let method = directory.incremental.method
        guard method != .off else { return nil }
        let effective = directory.effective(for: flavour)
        let mapping = directory.mapping(for: flavour)
        switch flavour {
        case .activeDirectory:
            guard [.auto, .dirsync, .usn].contains(method), mapping.idIsBinaryGUID else { return nil }
            return ActiveDirectoryChangeFeed(directory: effective, mapping: mapping, logger: logger)
        default:
            guard [.auto, .syncrepl].contains(method) else { return nil }
            guard root.supportedControls.contains(ContentSync.requestOID) else {
                logger.info("incremental runs off: the server offers no RFC 4533 content synchronization (syncprov)", metadata: [
                    "directory": "\(directory.name)",
                ])
                return nil
            }
            guard mapping.id.lowercased() == "entryuuid" else {
                logger.info("incremental runs off: content synchronization names entries by entryUUID, the id here is \(mapping.id)", metadata: [
                    "directory": "\(directory.name)",
                ])
                return nil
            }
            return ContentSyncChangeFeed(directory: effective, mapping: mapping, store: store, logger: logger)
        }
    }
}

extension ChangeFeed {
    /// Whether a changed container matters: one that was in scope at the full run (it may
    /// have been renamed or moved away), or one in scope now (created, or moved in).
    func matters(_ container: (id: String, dn: String), state: SyncState) -> Bool {
        if state.containers.contains(container.id) { return true }
        let key = DNKey.of
        let dn = key(container.dn)
        return [directory.users.base, directory.groups.base].contains { base in
            let base = key(base)
            return dn == base || dn.hasSuffix("," + base) || base.hasSuffix("," + dn)
        }
    }

    /// The ids of the containers at and below the search bases, kept with a full run's state.
    func scopeContainers(_ session: LDAPSession, idAttribute: String, id: (LDAPEntry) -> String?) async throws -> Set<String> {
        var result = Set<String>()
        for base in Set([directory.users.base, directory.groups.base]) {
            let request = LDAPSearchRequest(
                base: base, scope: .sub, filter: ContainerClasses.filter, attributes: [idAttribute], pageSize: directory.pageSize)
            for try await event in session.search(request) {
                if case .entry(let entry) = event, let value = id(entry) { result.insert(value) }
            }
        }
        return result
    }
}

extension DirectoryConfig {
    /// A digest of what runs read from this directory: flavour, bases, scopes, filters and
    /// attribute overrides. A feed position taken under another digest is not used.
    public var scopeDigest: String {
        StableHash.hex(["\(flavour)", "\(users)", "\(groups)", "\(attributes)"].joined(separator: "\u{1F}"))
    }
}

enum ContainerClasses {
    static let names: Set<String> = ["organizationalunit", "container", "builtindomain", "domaindns", "organization", "dcobject"]
    static let filter = "(|(objectClass=organizationalUnit)(objectClass=container)(objectClass=domainDNS)(objectClass=organization))"

    static func isContainer(_ entry: LDAPEntry) -> Bool {
        !Set(entry.strings("objectClass").map { $0.lowercased() }).isDisjoint(with: names)
    }
}
