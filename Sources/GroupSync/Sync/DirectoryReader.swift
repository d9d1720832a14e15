import Foundation
import LDAPClient
import Logging
import SyncCore

/// Inquire: connects to one directory, runs the user and then the group search (paged,
/// streamed), and maps what arrives into the wanted snapshot. Any error — a lost
/// connection, a size limit, a missing page, a reference it cannot follow — throws, so the
/// run fails and the store keeps what it had.
public struct DirectoryReader: Sendable {
    public let directory: DirectoryConfig
    let logger: Logger
    /// Sizes of the last snapshot, to size the tables up front.
    let expected: (users: Int, groups: Int)

    public init(directory: DirectoryConfig, logger: Logger, expectedUsers: Int = 0, expectedGroups: Int = 0) {
        self.directory = directory
        self.logger = logger
        self.expected = (expectedUsers, expectedGroups)
    }

    public struct Progress: Sendable {
        public var phase: String
        public var entries: Int
        public var elapsed: Duration
    }

    public struct Result: Sendable {
        public var snapshot: Snapshot
        public var flavour: DirectoryFlavour
        public var mapping: AttributeMapping
    }

    public func read(progress: (@Sendable (Progress) -> Void)? = nil) async throws -> Result {
        let credentials: LDAPCredentials
        if let bind = directory.bind {
            credentials = .simple(dn: bind.dn, password: try bind.readPassword())
        } else {
            credentials = .anonymous
        }
        let session = try await LDAPSession.connect(directory.connectionOptions, credentials: credentials, logger: logger)
        do {
            let result = try await read(session, progress: progress)
            await session.close()
            return result
        } catch {
            await session.close()
            throw error
        }
    }

    private func read(_ session: LDAPSession, progress: (@Sendable (Progress) -> Void)?) async throws -> Result {
        let flavour = try await detectFlavour(session)
        let mapping = directory.attributes.applied(to: .openLDAP)
        var builder = SnapshotBuilder(mapping: mapping, expectedUsers: expected.users, expectedGroups: expected.groups)
        let started = ContinuousClock.now
        var entries = 0

        for phase in [Phase.users, .groups] {
            let search = phase == .users ? directory.users : directory.groups
            let request = LDAPSearchRequest(
                base: search.base, scope: search.scope, filter: search.filter,
                attributes: phase == .users ? mapping.userAttributes : mapping.groupAttributes, pageSize: directory.pageSize)
            for try await event in session.search(request) {
                switch event {
                case .entry(let entry):
                    if phase == .users { try builder.addUser(entry) } else { try builder.addGroup(entry) }
                    entries += 1
                    if entries % 1000 == 0 {
                        progress?(Progress(phase: phase.rawValue, entries: entries, elapsed: ContinuousClock.now - started))
                    }
                case .reference(let urls):
                    throw InquireError(
                        directory: directory.name,
                        message: "the \(phase.rawValue) search under \(search.base) returned a continuation reference to \(urls.joined(separator: ", ")); "
                            + "groupsync does not follow referrals, so the result would be incomplete. Narrow the search base or point the URL at the server that holds that part of the tree")
                }
            }
        }
        progress?(Progress(phase: "done", entries: entries, elapsed: ContinuousClock.now - started))
        logger.info("read directory", metadata: [
            "directory": "\(directory.name)", "users": "\(builder.userCount)", "groups": "\(builder.groupCount)",
            "flavour": "\(flavour)",
        ])
        return Result(snapshot: builder.finish(), flavour: flavour, mapping: mapping)
    }

    private enum Phase: String { case users, groups }

    private func detectFlavour(_ session: LDAPSession) async throws -> DirectoryFlavour {
        let detected = try await session.rootDSE().flavour
        if detected == .activeDirectory {
            throw InquireError(
                directory: directory.name,
                message: "the server is Active Directory, which this version of groupsync does not sync yet")
        }
        switch directory.flavour {
        case .openldap: return .openLDAP
        case .auto, .activedirectory: return detected
        }
    }
}

/// A reason to fail a run found while reading the directory.
public struct InquireError: Error, Sendable, CustomStringConvertible {
    public var directory: String
    public var message: String

    public var description: String { "directory \(directory): \(message)" }
}
